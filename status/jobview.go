package status

import (
	"io/fs"
	"mime"
	"path"
	"slices"
	"strings"

	"github.com/valyala/fasthttp"
)

// publicFiles are the files the job view loads, the only ones the public
// listener serves: never the status page or its script.
var publicFiles = []string{"job.js", "app.css"}

// JobView serves, on the public listener, a job's page to a browser:
// job.html for GET /jobs/{id} (the page reads the id from its address and
// follows /jobs/{id}/events) and the files it loads under /ui/.
func JobView(ctx *fasthttp.RequestCtx) {
	name := "job.html"
	if rest, ok := strings.CutPrefix(string(ctx.Path()), "/ui/"); ok {
		name = ""
		if slices.Contains(publicFiles, rest) {
			name = rest
		}
	}
	var b []byte
	err := fs.ErrNotExist
	if name != "" && (ctx.IsGet() || ctx.IsHead()) {
		b, err = fs.ReadFile(files, name)
	}
	if err != nil {
		ctx.Error(`{"error":"no such file"}`, fasthttp.StatusNotFound)
		ctx.SetContentType("application/json")
		return
	}
	for k, v := range Headers {
		ctx.Response.Header.Set(k, v)
	}
	ctx.SetContentType(mime.TypeByExtension(path.Ext(name)))
	ctx.SetBody(b)
}
