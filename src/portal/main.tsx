import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import './shared/global.ts';
import { App } from './citizen/App.tsx';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>
);
