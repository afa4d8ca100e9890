package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/chromedp/chromedp"

	"github.com/vitrine-dev/vitrine/storage/s3store/s3test"
)

// TestUIDirectUploadToS3: with S3 storage the page's element PUTs each file straight to the
// bucket's presigned URL (the bucket's CORS rules allow the page's origin), completes the
// upload, and shows the thumbnails, which /objects redirects to the bucket for: the page's
// policy allows the bucket's origin for both, and nothing else.
func TestUIDirectUploadToS3(t *testing.T) {
	gw := s3test.Start(t)
	bucket := gw.NewBucket(t)
	s, sp := uiServe(t, map[string]string{
		"VITRINE_STORAGE": "s3", "VITRINE_S3_ENDPOINT": gw.Endpoint, "VITRINE_S3_REGION": gw.Region,
		"VITRINE_S3_BUCKET": bucket, "VITRINE_S3_PATH_STYLE": "true",
		"VITRINE_S3_ACCESS_KEY_ID": gw.AccessKey, "VITRINE_S3_SECRET_ACCESS_KEY": gw.SecretKey,
	})
	if _, err := gw.Client().PutBucketCors(context.Background(), &s3.PutBucketCorsInput{Bucket: &bucket,
		CORSConfiguration: &s3types.CORSConfiguration{CORSRules: []s3types.CORSRule{{
			AllowedOrigins: []string{s.base}, AllowedMethods: []string{"PUT", "GET"}, AllowedHeaders: []string{"*"}, MaxAgeSeconds: aws.Int32(600),
		}}}}); err != nil {
		t.Fatalf("allowing the page's origin in the bucket's CORS rules: %v", err)
	}
	dune, _, _ := uiPhotos(t)
	tb := openTab(t, startBrowser(t), false)
	tb.openProduct(s.base, sp.token, sp.product, 0)
	tb.do(chromedp.SetUploadFiles(chromedp.JSPath(shadow+`.querySelector("input[type=file]")`), []string{dune}))
	tb.waitFor("the upload done", `[...`+shadow+`.querySelectorAll(".upload")].some(r => r.classList.contains("done"))`)
	tb.waitFor("the thumbnails shown", item(0)+`.querySelector(".status").textContent === "Ready" && `+item(0)+`.querySelector("img.picture").naturalWidth > 0`)

	put := false
	for _, r := range tb.sent() {
		put = put || strings.HasPrefix(r, "PUT "+gw.Endpoint+"/"+bucket+"/")
		if strings.HasPrefix(r, "POST "+s.base+"/v1/products/"+sp.product+"/images") {
			t.Errorf("the file went through Vitrine: %s", r)
		}
	}
	if !put {
		t.Errorf("no PUT to the bucket: %v", tb.sent())
	}
	csp := eval[string](tb, fmt.Sprintf(`fetch(%q).then(r => r.headers.get("Content-Security-Policy"))`, s.base+"/"))
	for _, directive := range []string{"img-src", "connect-src"} {
		named := false
		for d := range strings.SplitSeq(csp, ";") {
			if f := strings.Fields(d); len(f) > 0 && f[0] == directive {
				named = slices.Contains(f[1:], gw.Endpoint)
			}
		}
		if !named {
			t.Errorf("the page's policy does not name the bucket's origin %s in %s: %s", gw.Endpoint, directive, csp)
		}
	}
	if n := len(s.images(t, sp.token, sp.product)); n != 1 {
		t.Errorf("the gallery has %d images", n)
	}
	tb.noProblems()
}
