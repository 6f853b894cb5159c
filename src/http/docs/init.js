// Renders /openapi.json with Swagger UI from this server's own copy (no CDN, works air-gapped).
window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true, tryItOutEnabled: false });
