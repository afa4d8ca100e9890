package upload

import (
	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/imageinfo"
)

// MaxProfileBytes is the largest embedded ICC colour profile an upload may carry. The
// profiles of cameras, phones and editors (sRGB, Display P3, Adobe RGB, ProPhoto) take a few
// KiB, and the largest in use, with colour look-up tables, a few hundred; but libvips loads
// the profile whole for every thumbnail job and holds it several times over (a 25 MiB
// profile costs a job about 100 MiB), while the stripper keeps it in the stored original.
const MaxProfileBytes = 4 << 20

// checkProfile refuses an image whose embedded colour profile is larger than
// MaxProfileBytes, with ETOOLARGE.
func checkProfile(info imageinfo.Info) error {
	if info.ProfileBytes <= MaxProfileBytes {
		return nil
	}
	return gallery.Errorf(gallery.ETOOLARGE,
		"the image's embedded colour profile is %d bytes; at most %d are accepted", info.ProfileBytes, MaxProfileBytes)
}
