package main

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/internal/apiclient"
)

// TestSupplierFlowThroughTheGeneratedClient runs a supplier's whole flow through the client
// oapi-codegen generates from the served document, against `vitrine serve` with its workers:
// create a product, upload three photos, list, reorder, move, change an alt text, delete one,
// wait for the main image's thumbnails, and fetch an original and a thumbnail through the
// document's object operations; refusals arrive as the document's typed errors.
func TestSupplierFlowThroughTheGeneratedClient(t *testing.T) {
	t.Parallel()
	s := startServe(t, map[string]string{"VITRINE_JWT_SECRET": tenantSecret})
	ctx := context.Background()
	supplier := uuid.New()
	token := supplierToken(t, supplier)
	c, err := apiclient.NewClientWithResponses(s.base, apiclient.WithRequestEditorFn(func(ctx context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+token)
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}

	created, err := c.CreateProductWithResponse(ctx, nil, apiclient.CreateProductJSONRequestBody{})
	if err != nil || created.JSON201 == nil {
		t.Fatalf("create: %v %s", err, body(created))
	}
	product := created.JSON201
	if product.SupplierId != supplier {
		t.Fatalf("the product's supplier is %s, want %s", product.SupplierId, supplier)
	}

	var ids []uuid.UUID
	for _, name := range []string{"video-001.jpeg", "video-001.png", "video-001.gif"} {
		data, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "src", "image", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		_ = mw.WriteField("alt", "photo "+name)
		fw, _ := mw.CreateFormFile("file", name)
		fw.Write(data)
		mw.Close()
		up, err := c.UploadImageWithBodyWithResponse(ctx, product.Id, nil, mw.FormDataContentType(), &buf)
		if err != nil || up.JSON201 == nil {
			t.Fatalf("upload %s: %v %s", name, err, body(up))
		}
		ids = append(ids, up.JSON201.Id)
	}

	list, err := c.ListImagesWithResponse(ctx, product.Id, nil)
	if err != nil || list.JSON200 == nil || len(list.JSON200.Images) != 3 || list.JSON200.Images[0].Id != ids[0] {
		t.Fatalf("list: %v %s", err, body(list))
	}
	reordered, err := c.ReorderImagesWithResponse(ctx, product.Id, nil, apiclient.ReorderImagesJSONRequestBody{Ids: []uuid.UUID{ids[2], ids[1], ids[0]}})
	if err != nil || reordered.JSON200 == nil || reordered.JSON200.Images[0].Id != ids[2] {
		t.Fatalf("reorder: %v %s", err, body(reordered))
	}
	moved, err := c.MoveImageWithResponse(ctx, ids[1], nil, apiclient.MoveImageJSONRequestBody{Position: 0})
	if err != nil || moved.JSON200 == nil || moved.JSON200.Images[0].Id != ids[1] {
		t.Fatalf("move: %v %s", err, body(moved))
	}
	alt, err := c.UpdateImageAltWithResponse(ctx, ids[1], nil, apiclient.UpdateImageAltJSONRequestBody{Alt: "the main photo"})
	if err != nil || alt.JSON200 == nil || alt.JSON200.Alt != "the main photo" {
		t.Fatalf("alt: %v %s", err, body(alt))
	}
	deleted, err := c.DeleteImageWithResponse(ctx, ids[2], nil)
	if err != nil || deleted.StatusCode() != http.StatusNoContent {
		t.Fatalf("delete: %v %s", err, body(deleted))
	}
	gone, err := c.GetImageWithResponse(ctx, ids[2], nil)
	if err != nil || gone.JSON404 == nil || gone.JSON404.Error.Code != apiclient.ErrorErrorCodeNotFound {
		t.Fatalf("the deleted image: %v %s", err, body(gone))
	}

	// The main image's thumbnails are made in the background: wait until they are ready.
	var main *apiclient.Image
	deadline := time.Now().Add(2 * time.Minute)
	for {
		got, err := c.GetImageWithResponse(ctx, ids[1], nil)
		if err != nil || got.JSON200 == nil {
			t.Fatalf("read the main image: %v %s", err, body(got))
		}
		if got.JSON200.Status == apiclient.ImageStatusReady {
			main = got.JSON200
			break
		}
		if got.JSON200.Status == apiclient.ImageStatusFailed || time.Now().After(deadline) {
			t.Fatalf("the main image's thumbnails: %s after %d attempts", got.JSON200.Status, got.JSON200.Attempts)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if main.ThumbnailUrl == nil || main.Variants == nil || len(*main.Variants) == 0 {
		t.Fatalf("a ready image without thumbnails: %+v", main)
	}

	// The original and a thumbnail, through the document's object operations.
	shard, name := objectPath(t, main.Url, "/objects/originals/")
	orig, err := c.GetOriginalWithResponse(ctx, shard, name, nil)
	if err != nil || orig.StatusCode() != http.StatusOK || int64(len(orig.Body)) != int64(main.Bytes) || orig.HTTPResponse.Header.Get("ETag") == "" {
		t.Fatalf("the original: %v %d, %d bytes", err, orig.StatusCode(), len(orig.Body))
	}
	shard, name = objectPath(t, *main.ThumbnailUrl, "/objects/variants/")
	thumb, err := c.GetVariantWithResponse(ctx, shard, name, nil)
	if err != nil || thumb.StatusCode() != http.StatusOK || len(thumb.Body) == 0 || !strings.HasPrefix(thumb.HTTPResponse.Header.Get("Content-Type"), "image/") {
		t.Fatalf("the thumbnail: %v %d", err, thumb.StatusCode())
	}

	// Refusals are the document's typed errors.
	other, err := c.GetProductWithResponse(ctx, uuid.New(), nil)
	if err != nil || other.JSON404 == nil || other.JSON404.Error.Message == "" {
		t.Fatalf("another product: %v %s", err, body(other))
	}
	bad, err := c.GetProductWithResponse(ctx, product.Id, nil, func(ctx context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer not-a-token")
		return nil
	})
	if err != nil || bad.JSON401 == nil || bad.JSON401.Error.Code != apiclient.ErrorErrorCodeUnauthorized {
		t.Fatalf("a bad token: %v %s", err, body(bad))
	}
	del, err := c.DeleteProductWithResponse(ctx, product.Id, nil)
	if err != nil || del.StatusCode() != http.StatusNoContent {
		t.Fatalf("delete the product: %v %s", err, body(del))
	}
}

// objectPath splits an object URL the API returned into the shard and name of the document's
// object path under prefix.
func objectPath(t *testing.T, url, prefix string) (shard, name string) {
	t.Helper()
	_, rest, ok := strings.Cut(url, prefix)
	shard, name, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || strings.Contains(name, "/") {
		t.Fatalf("%s is not an object URL under %s", url, prefix)
	}
	return shard, name
}

// body shows a generated client's response (nil when the request failed) in a message.
func body(r any) string {
	v := reflect.ValueOf(r)
	if !v.IsValid() || v.IsNil() {
		return "(no response)"
	}
	return string(v.Elem().FieldByName("Body").Bytes())
}
