// Package httpapi is Vitrine's HTTP JSON API under /v1, the object route /objects/, and the
// API's OpenAPI document and docs page.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/trace"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/storage"
	"github.com/vitrine-dev/vitrine/ui"
	"github.com/vitrine-dev/vitrine/upload"
)

// Gallery is what the API needs of the gallery's storage.
type Gallery interface {
	// ActingSupplier is the supplier a signed-in user acts for (its own id, its claim's, or
	// the team's it names), and whether it may change that supplier's products.
	ActingSupplier(ctx context.Context) (uuid.UUID, bool, error)
	CreateProduct(ctx context.Context, p gallery.Product) (gallery.Product, error)
	Product(ctx context.Context, id uuid.UUID) (gallery.Product, error)
	Images(ctx context.Context, productID uuid.UUID) ([]gallery.Image, error)
	MainImage(ctx context.Context, productID uuid.UUID) (gallery.Image, error)
	Image(ctx context.Context, id uuid.UUID) (gallery.Image, error)
	UpdateAlt(ctx context.Context, id uuid.UUID, alt string) (gallery.Image, error)
	DeleteImage(ctx context.Context, id uuid.UUID) (gallery.Image, error)
	MoveImage(ctx context.Context, id uuid.UUID, position int) ([]gallery.Image, error)
	ReorderImages(ctx context.Context, productID uuid.UUID, ids []uuid.UUID) ([]gallery.Image, error)
	UpdateProduct(ctx context.Context, id uuid.UUID, change gallery.ProductChange) (gallery.Product, error)
	ListProducts(ctx context.Context, q gallery.ProductQuery) (gallery.ProductPage, error)
	RetryThumbnails(ctx context.Context, imageID uuid.UUID) (gallery.Image, error)
	DeleteProduct(ctx context.Context, id uuid.UUID) error
	LastPurgeRun(ctx context.Context, completed bool) (*gallery.PurgeRun, error)
	CreateBulkImport(ctx context.Context, supplier uuid.UUID, maxRunning int, next func() (gallery.BulkImportLine, bool, error)) (uuid.UUID, error)
	BulkImport(ctx context.Context, id uuid.UUID, after, limit int) (gallery.BulkImport, error)
}

// Authenticator turns a request's Authorization header into its caller: anonymous without a
// header, an error for a token that is not valid.
type Authenticator interface {
	Caller(authorization string) (gallery.Caller, error)
}

// Server serves the API. Its fields are set once at start-up.
type Server struct {
	Auth      Authenticator
	Gallery   Gallery
	Uploads   *upload.Service
	Store     storage.Store
	ObjectURL func(key string) string
	// Presets are the names of the thumbnail presets the workers make, which
	// GET /v1/products/{product_id}/main/{preset} serves.
	Presets []string
	// ObjectLocation, when set, makes GET /objects/{key} answer 302 Found with the URL it
	// returns for key (a presigned or public URL of the bucket) instead of serving the bytes;
	// HEAD is still answered from the store. Clients may cache the redirect for
	// ObjectLocationMaxAge.
	ObjectLocation       func(ctx context.Context, key string) (string, error)
	ObjectLocationMaxAge time.Duration
	Logger               *slog.Logger
	Admin                http.Handler // River's job UI, mounted at /admin/jobs when not nil
	Limits               *Limits      // per-caller budgets of uploads and writes; nil: unlimited
	// UploadTimeouts cut off slow or stalled upload bodies; zero: none.
	UploadTimeouts Timeouts
	// BulkImports bounds POST /v1/imports.
	BulkImports BulkImports
	// UploadSlots bounds the upload bodies taken in at once, server-wide; nil: unbounded.
	UploadSlots *UploadSlots
	// BodyTimeout is the longest any other request body may take to arrive; zero: no limit.
	BodyTimeout time.Duration
	// WriteTimeout is the longest a response may take, from the start of its request (for
	// an upload, from the end of the time its body is allowed); zero: no limit.
	WriteTimeout time.Duration
	// Events serves GET /v1/products/{product_id}/events; nil: that route answers 404. Its
	// Run must run while the server serves.
	Events *Hub
	// CORSOrigins are the origins (as ParseOrigins reads them) whose pages may call /v1 from a
	// browser; empty: none, and no response carries a CORS header.
	CORSOrigins []string
	// Webhooks serves /v1/webhooks; nil: those routes answer 404. WebhooksPerOwner bounds the
	// endpoints of one supplier (and the global ones together); 0: the default.
	Webhooks         Webhooks
	WebhooksPerOwner int
	// Readiness answers GET /readyz; nil: the server is always ready.
	Readiness *Readiness
	// Observer, when set, receives each request's measures (metrics); Tracer, when set,
	// makes a span of each request (observe.go).
	Observer Observer
	Tracer   trace.Tracer

	pageCSPOnce sync.Once
	pageCSPText string
}

// route is one pattern of the API and its handler.
type route struct {
	pattern string
	handler http.HandlerFunc
}

// routes lists every route; the OpenAPI document must describe each /v1 and /objects one.
func (s *Server) routes() []route {
	return []route{
		{"POST /v1/products", s.createProduct},
		{"GET /v1/products", s.listProducts},
		{"GET /v1/products/{product_id}", s.getProduct},
		{"PATCH /v1/products/{product_id}", s.patchProduct},
		{"DELETE /v1/products/{product_id}", s.deleteProduct},
		{"POST /v1/products/{product_id}/images", s.uploadImage},
		{"GET /v1/products/{product_id}/images", s.listImages},
		{"GET /v1/products/{product_id}/events", s.productEvents},
		{"GET /v1/products/{product_id}/main/{preset}", s.mainImage},
		{"POST /v1/products/{product_id}/uploads", s.startDirectUpload},
		{"POST /v1/uploads/{id}/complete", s.completeDirectUpload},
		{"PUT /v1/products/{product_id}/images/order", s.reorderImages},
		{"GET /v1/images/{id}", s.getImage},
		{"PATCH /v1/images/{id}", s.patchImage},
		{"DELETE /v1/images/{id}", s.deleteImage},
		{"POST /v1/images/{id}/position", s.moveImage},
		{"POST /v1/images/{id}/retry", s.retryImage},
		{"GET /v1/purges/latest", s.latestPurges},
		{"POST /v1/webhooks", s.createWebhook},
		{"GET /v1/webhooks", s.listWebhooks},
		{"GET /v1/webhooks/{id}", s.getWebhook},
		{"PATCH /v1/webhooks/{id}", s.patchWebhook},
		{"DELETE /v1/webhooks/{id}", s.deleteWebhook},
		{"GET /v1/webhooks/{id}/deliveries", s.listDeliveries},
		{"POST /v1/webhooks/{id}/deliveries/{delivery_id}/resend", s.resendDelivery},
		{"POST /v1/imports", s.createBulkImport},
		{"GET /v1/imports/{id}", s.getBulkImport},
		{"GET /objects/{key...}", s.getObject},
		{"GET /openapi.json", serveOpenAPI},
		{"GET /docs", serveDocs},
		{"GET " + RedocPath, serveRedoc},
		{"GET /{$}", s.serveHome},
		{"GET /readyz", s.serveReady},
		{"GET " + ui.Prefix + "{path...}", ui.ServeStatic},
		{"GET /healthz", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		}},
	}
}

// Handler returns the API's routes. GET routes answer HEAD too.
func (s *Server) Handler() http.Handler {
	if s.Events != nil {
		s.Events.mu.Lock()
		s.Events.server = s
		s.Events.mu.Unlock()
	}
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		mux.HandleFunc(rt.pattern, routed(rt.handler))
	}
	// The catch-all answers what no route does: 405 with Allow when the path is served with
	// other methods, else 404; both as JSON errors.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if allow := allowedMethods(mux, r); allow != "" {
			w.Header().Set("Allow", allow)
			var body errorBody
			body.Error.Code = codeMethodNotAllowed
			body.Error.Message = r.Method + " is not served on " + r.URL.Path + "; allowed: " + allow
			writeJSON(w, http.StatusMethodNotAllowed, body)
			return
		}
		s.writeError(w, r, gallery.Errorf(gallery.ENOTFOUND, "no route for %s %s", r.Method, r.URL.Path))
	})
	h := s.authenticate(mux)
	if s.Admin != nil {
		// The job UI has its own credentials (HTTP Basic), which are no bearer token.
		outer := http.NewServeMux()
		outer.Handle("/admin/jobs", s.Admin)
		outer.Handle("/admin/jobs/", s.Admin)
		outer.Handle("/", h)
		h = outer
	}
	return s.observe(securityHeaders(s.cors(s.bounded(h))))
}

// codeMethodNotAllowed is the error code of a 405: an HTTP matter with no domain error.
const codeMethodNotAllowed = "method_not_allowed"

// probedMethods are the methods a 405's Allow header may list.
var probedMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// allowedMethods returns the methods, comma-separated, with which a route of mux other than
// the catch-all serves r's path; "" when none does.
func allowedMethods(mux *http.ServeMux, r *http.Request) string {
	var allow []string
	for _, m := range probedMethods {
		probe := *r
		probe.Method = m
		if _, pattern := mux.Handler(&probe); pattern != "" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	return strings.Join(allow, ", ")
}

// authenticate puts the request's caller in its context; every database transaction of the
// request acts as that caller. A token that is not valid is a 401, never an anonymous call.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := s.Auth.Caller(r.Header.Get("Authorization"))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			s.writeError(w, r, &gallery.Error{Code: gallery.EUNAUTHORIZED, Message: "the bearer token is not valid", Err: err})
			return
		}
		if c.ActFor, err = actFor(r, c); err != nil {
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(gallery.WithCaller(r.Context(), c)))
	})
}

// actFor reads the supplier a request asks to act for (gallery.SupplierHeader): uuid.Nil
// without the header. Whether the user may act for it, the database decides on the
// request's first query (a forbidden error otherwise). Only a signed-in user acts for a
// supplier: the header from anyone else is invalid, not ignored.
func actFor(r *http.Request, c gallery.Caller) (uuid.UUID, error) {
	v := r.Header.Values(gallery.SupplierHeader)
	if len(v) == 0 {
		return uuid.Nil, nil
	}
	if c.Role != gallery.RoleAuthenticated {
		return uuid.Nil, gallery.Errorf(gallery.EINVALID, "the %s header is for signed-in users (role authenticated) only", gallery.SupplierHeader)
	}
	id, err := uuid.Parse(strings.TrimSpace(v[0]))
	if len(v) > 1 || err != nil || id == uuid.Nil {
		return uuid.Nil, gallery.Errorf(gallery.EINVALID, "the %s header must be one supplier id (UUID)", gallery.SupplierHeader)
	}
	return id, nil
}

// caller returns who is making the request, as authenticate found.
func (s *Server) caller(r *http.Request) gallery.Caller {
	c, _ := gallery.CallerFrom(r.Context())
	return c
}

// requireSignedIn refuses anonymous callers of endpoints that change data.
func (s *Server) requireSignedIn(w http.ResponseWriter, r *http.Request) bool {
	if s.caller(r).Role == gallery.RoleAnon {
		w.Header().Set("WWW-Authenticate", "Bearer")
		s.writeError(w, r, gallery.Errorf(gallery.EUNAUTHORIZED, "this request needs a bearer token"))
		return false
	}
	return true
}
