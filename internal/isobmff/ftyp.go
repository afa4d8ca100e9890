package isobmff

import "github.com/vitrine-dev/vitrine/internal/imageformat"

// Ftyp is a file type box: the brands of the specifications the file conforms to.
type Ftyp struct {
	Major      string
	Minor      uint32
	Compatible []string
}

// ParseFtyp reads the payload of an ftyp box. The major brand must be one that
// imageformat.HEIFBrand knows.
func ParseFtyp(payload []byte) (Ftyp, error) {
	if len(payload) < 8 || len(payload)%4 != 0 {
		return Ftyp{}, corrupt("bad ftyp box length")
	}
	f := Ftyp{Major: string(payload[0:4])}
	r := reader{b: payload[4:]}
	f.Minor = r.u32()
	for r.left() > 0 {
		f.Compatible = append(f.Compatible, string(r.take(4)))
	}
	if imageformat.HEIFBrand(f.Major) == "" {
		return f, corruptf("major brand %q is not a HEIF brand", f.Major)
	}
	return f, nil
}

// MediaType returns imageformat.HEIC, AVIF or HEIF: the type of the major brand if it is
// HEIC or AVIF, else that of the first compatible brand that is, else HEIF (a file that
// names only structural brands such as mif1).
func (f Ftyp) MediaType() string {
	for _, b := range append([]string{f.Major}, f.Compatible...) {
		if mt := imageformat.HEIFBrand(b); mt == imageformat.HEIC || mt == imageformat.AVIF {
			return mt
		}
	}
	return imageformat.HEIF
}
