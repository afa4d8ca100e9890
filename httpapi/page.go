package httpapi

import (
	"context"
	"net/url"
	"time"

	"github.com/vitrine-dev/vitrine/storage"
	"github.com/vitrine-dev/vitrine/ui"
)

// pageCSP returns the policy of the page at /, made once: besides this server, the page's
// images may come from where the object store serves them (s.ObjectURL, or the bucket that
// s.ObjectLocation redirects to), and its direct uploads go to the bucket's presigned PUT URLs.
func (s *Server) pageCSP(ctx context.Context) string {
	s.pageCSPOnce.Do(func() {
		const probe = "variants/00/csp-probe.webp"
		var images, uploads []string
		if s.ObjectURL != nil {
			images = append(images, originOf(s.ObjectURL(probe)))
		}
		if s.ObjectLocation != nil {
			if u, err := s.ObjectLocation(ctx, probe); err == nil {
				images = append(images, originOf(u))
			}
		}
		if p, ok := s.Store.(storage.Presigner); ok {
			// Presigning is computed locally: no request reaches the store.
			if u, err := p.PresignPut(ctx, "tmp/csp-probe", time.Minute); err == nil {
				uploads = append(uploads, originOf(u))
			}
		}
		s.pageCSPText = ui.PageCSP(images, uploads)
	})
	return s.pageCSPText
}

// originOf returns the origin (scheme://host[:port]) of an absolute URL, "" for a relative
// one, which is this server's.
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
