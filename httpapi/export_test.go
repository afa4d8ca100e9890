package httpapi

// RoutePatterns lists the pattern of every route, for the tests outside the package.
func RoutePatterns() []string {
	var out []string
	for _, rt := range (&Server{}).routes() {
		out = append(out, rt.pattern)
	}
	return out
}
