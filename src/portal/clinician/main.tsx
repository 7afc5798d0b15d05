import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import '../shared/global.ts';
import './clinician.css';
import { App } from './App.tsx';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>
);
