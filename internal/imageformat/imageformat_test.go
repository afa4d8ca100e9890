package imageformat

import "testing"

func TestSniff(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		PNGSignature + "\x00\x00\x00\x0dIHDR": PNG,
		PNGSignature:                          PNG,
		"\x89PNG\r\n\x1a":                     "",
		"\xff\xd8\xff\xe0":                    JPEG,
		"\xff\xd8\xff":                        JPEG,
		"\xff\xd8\x00":                        "",
		"GIF87a":                              GIF,
		"GIF89a\x01\x00":                      GIF,
		"GIF90a":                              "",
		"RIFF\x00\x00\x00\x00WEBP":            WebP,
		"RIFF\x00\x00\x00\x00WEB":             "",
		"RIFF\x00\x00\x00\x00WAVE":            "",
		"\x00\x00\x00\x1cftypheic":            HEIF,
		"\x00\x00\x00\x1cftypavif":            HEIF,
		"\x00\x00\x00\x1cftypmif1":            HEIF,
		"\x00\x00\x00\x1cftypmp42":            "",
		"\x00\x00\x00\x1cftypheif":            "",
		"\x00\x00\x00\x1cftyphei":             "",
		"<svg":                                "",
		"":                                    "",
	} {
		if got := Sniff([]byte(in)); got != want {
			t.Errorf("Sniff(%q) = %q, want %q", in, got, want)
		}
	}
}
