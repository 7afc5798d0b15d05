// Global styles in the order Helsenorge loads them: reset, the design system's base (fonts, palette, grid), then the page frame.
import 'normalize.css';
import '@helsenorge/designsystem-react/scss/helsenorge.scss';
import './styles.css';
