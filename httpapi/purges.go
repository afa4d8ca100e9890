package httpapi

import (
	"net/http"

	"github.com/vitrine-dev/vitrine/gallery"
)

// purgeRunJSON is a purge run as the API shows it.
type purgeRunJSON struct {
	*gallery.PurgeRun
	Grace string `json:"grace"`
}

func toPurgeRunJSON(r *gallery.PurgeRun) *purgeRunJSON {
	if r == nil {
		return nil
	}
	return &purgeRunJSON{PurgeRun: r, Grace: r.Grace.String()}
}

// latestPurges shows the orphan purge's newest run and its newest completed full run, for
// the service role (operators, monitoring): a scheduled purge that stopped happening shows
// as an old last_completed.
func (s *Server) latestPurges(w http.ResponseWriter, r *http.Request) {
	if !s.requireSignedIn(w, r) {
		return
	}
	if s.caller(r).Role != gallery.RoleService {
		s.writeError(w, r, gallery.Errorf(gallery.EFORBIDDEN, "purge runs are shown to the service role only"))
		return
	}
	last, err := s.Gallery.LastPurgeRun(r.Context(), false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	completed, err := s.Gallery.LastPurgeRun(r.Context(), true)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"last_run": toPurgeRunJSON(last), "last_completed": toPurgeRunJSON(completed)})
}
