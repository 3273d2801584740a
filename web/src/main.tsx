import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ApiError } from './api/client.ts';
import { AuthError } from './api/auth.ts';
import { App, startFirstPage } from './app.tsx';
import './styles.css';

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 30_000,
      // A 4xx will answer the same again; only transient failures are worth a retry.
      retry: (count, error) =>
        count < 2 &&
        !((error instanceof ApiError || error instanceof AuthError) && error.status < 500),
    },
  },
});

const firstPage = startFirstPage(queryClient);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <App firstPage={firstPage} />
    </QueryClientProvider>
  </StrictMode>,
);
