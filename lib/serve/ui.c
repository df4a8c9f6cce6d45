/* ui.c - the web pages of cprof serve: one HTML page, its script and its
 * style sheet (web/, built into the binary: gen/web_assets.h), which talk
 * to this server's API only.  They hold no data, so they are served
 * without the token (the script asks for it when the API answers 401). */
#include <string.h>

#include "serve/serve-int.h"

static const char index_html[] =
#include "gen/web_index_html.h"
	;
static const char app_js[] =
#include "gen/web_app_js.h"
	;
static const char app_css[] =
#include "gen/web_app_css.h"
	;

/* the pages, in the order of their paths in cp_serve_public_paths (after
 * /health) */
static const struct {
	const char *ctype, *body;
	size_t len;
} files[] = {
	{ "text/html; charset=utf-8", index_html, sizeof(index_html) - 1 },
	{ "text/html; charset=utf-8", index_html, sizeof(index_html) - 1 },
	{ "text/javascript; charset=utf-8", app_js, sizeof(app_js) - 1 },
	{ "text/css; charset=utf-8", app_css, sizeof(app_css) - 1 },
};

/* what needs no token: /health, then the pages (no data in them: the
 * script asks for the token when the API answers 401) */
const char *const cp_serve_public_paths[] = { "/health", "/", "/ui/", "/ui/app.js", "/ui/app.css",
					      NULL };

bool cp_serve_ui(struct cp_http_req *r, const char *path)
{
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (!strcmp(path, cp_serve_public_paths[i + 1])) {
			static const char *const hdr[] = { "X-Content-Type-Options", "nosniff",
							   "Cache-Control", "no-cache", NULL };
			cp_http_reply(r, 200, files[i].ctype, files[i].body, files[i].len, hdr);
			return true;
		}
	return false;
}
