/**
 * The HTML a client meets when something in front of ComfyUI answers instead of it: Cloudflare
 * Access' login and "Forbidden" pages and Cloudflare's tunnel error pages (abridged, same
 * status codes, headers and tell-tale text).
 */
export function accessLoginPage(team: string, host: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in ・ Cloudflare Access</title>
<meta name="robots" content="noindex"></head>
<body><main class="AuthBox">
<h1>Sign in to ${team}.cloudflareaccess.com</h1>
<p>Get a login code emailed to you to reach <strong>${host}</strong>.</p>
<form method="post" action="https://${team}.cloudflareaccess.com/cdn-cgi/access/login/${host}">
<input type="email" name="email" placeholder="Email"><button type="submit">Send me a code</button></form>
</main></body></html>`;
}

export function accessForbiddenPage(host: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Forbidden ・ Cloudflare Access</title></head>
<body><main><h1>Forbidden</h1>
<p>You don't have permission to view this application (${host}).</p>
<p>Your service token is not authorized by any policy of this application.</p></main></body></html>`;
}

export function cloudflareErrorPage(status: 502 | 530, host: string, ray: string): string {
  const [code, title, explanation] =
    status === 530
      ? ["1033", "Cloudflare Tunnel error", `The host (${host}) is configured as a Cloudflare Tunnel, and Cloudflare is currently unable to resolve it.`]
      : ["502", "Bad gateway", "The web server reported a bad gateway error."];
  return `<!DOCTYPE html>
<html lang="en-US"><head><meta charset="UTF-8"><title>${host} | ${status}: ${title}</title></head>
<body><div id="cf-wrapper"><div id="cf-error-details">
<h1><span class="cf-error-type">Error</span> <span class="cf-error-code">${code}</span></h1>
<h2 class="cf-subheadline">${title}</h2>
<p>${explanation}</p>
<p>Cloudflare Ray ID: <strong>${ray}</strong></p>
</div></div></body></html>`;
}
