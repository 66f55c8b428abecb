package api

import (
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// docsVersion names the vendored documentation UI (internal/api/docsui).
// It is part of the asset URLs, so they can be cached as immutable.
const docsVersion = "elements-9.0.15"

// docsPath is where the API reference is browsable.
const docsPath = "/api/v1/docs"

//go:embed docsui/elements-9.0.15
var docsAssets embed.FS

var docsPage = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="referrer" content="no-referrer">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Latchkey API Reference</title>
    <link rel="stylesheet" href="{{.Assets}}/styles.min.css">
    <script src="{{.Assets}}/web-components.min.js"></script>
  </head>
  <body style="height: 100vh;">
    <elements-api
      apiDescriptionUrl="{{.Spec}}"
      router="hash"
      layout="sidebar"
      tryItCredentialsPolicy="same-origin"
    ></elements-api>
  </body>
</html>
`))

// docsCSP lets the page load only what this server serves.
const docsCSP = "default-src 'none'; base-uri 'none'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; " +
	"img-src 'self' data:; font-src 'self' data:; script-src 'self'; style-src 'self' 'unsafe-inline'"

// mountDocs serves the API reference page and the documentation UI it
// loads, all from the binary.
func mountDocs(mux *http.ServeMux) {
	assets := docsPath + "/assets/" + docsVersion
	sub, err := fs.Sub(docsAssets, "docsui/"+docsVersion)
	if err != nil {
		panic(err) // the embedded directory is part of the build
	}
	mux.HandleFunc("GET "+docsPath, func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", docsCSP)
		h.Set("Cache-Control", "no-cache")
		_ = docsPage.Execute(w, struct{ Assets, Spec string }{assets, OpenAPIPath + ".yaml"})
	})
	mux.HandleFunc("GET "+assets+"/{file}", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("file")
		b, err := fs.ReadFile(sub, name)
		if err != nil || strings.HasPrefix(name, ".") {
			writeProblem(w, http.StatusNotFound, "no documentation asset "+name)
			return
		}
		h := w.Header()
		h.Set("Content-Type", contentType(name))
		// The version is in the URL: a new UI gets a new URL.
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		_, _ = w.Write(b)
	})
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	}
	return "text/plain; charset=utf-8"
}
