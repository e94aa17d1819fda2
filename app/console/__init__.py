"""The web console, served at / of the API port: sign-in (OIDC or the break-glass local admin),
server-side sessions, CSRF protection, security headers, pages and the JSON API behind them."""
