package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/httpapi"
	"github.com/vitrine-dev/vitrine/internal/safehttp"
	"github.com/vitrine-dev/vitrine/jwtauth"
	"github.com/vitrine-dev/vitrine/storage/s3store"
	"github.com/vitrine-dev/vitrine/upload"
)

// config is every setting of Vitrine, read from VITRINE_* environment variables (and
// DATABASE_URL), then from flags, which win. Secrets may also come from a file named by the
// variable with _FILE appended.
type config struct {
	DatabaseURL     string
	MigrateURL      string
	Addr            string
	DataDir         string
	PublicURL       string
	MaxUploadBytes  int64
	MaxPixels       int64
	LogLevel        string
	ShutdownTimeout time.Duration
	MetricsAddr     string // "" serves no /metrics
	// MetricsAddrChosen is true when MetricsAddr was set (not the default): failing to listen
	// on it is then an error, while the default's being taken is only a warning.
	MetricsAddrChosen bool
	OTLPEndpoint      string // "" traces nothing

	ThumbnailsFor    gallery.ThumbnailsFor
	Presets          []gallery.Preset
	ThumbnailFormats []string // the first one's URLs fill the legacy design's thumbnails column
	Workers          int
	JobMaxAttempts   int
	JobRetryBase     time.Duration
	JobRescueAfter   time.Duration
	AdminPassword    string

	Env              string
	JWTSecret        string
	JWKSFile         string
	JWTIssuer        string
	JWTAudience      string
	SupplierClaim    []string // path of the claim naming the supplier a user acts for; nil: none
	UploadsPerMinute float64
	UploadBurst      float64
	WritesPerMinute  float64
	WriteBurst       float64
	MaxPixelsPerByte float64
	DensityFrom      int64
	JobMemoryMiB     int64
	UploadStall      time.Duration
	UploadTimeout    time.Duration
	MaxUploads       int
	UploadQueueWait  time.Duration
	MemoryLimit      int64
	KeepMetadata     bool
	ImportAllowHosts []string
	ImportTimeout    time.Duration
	ImportWorkers    int
	ImportPerHost    int
	UploadTypes      upload.Types
	BodyTimeout      time.Duration
	WriteTimeout     time.Duration
	IdleTimeout      time.Duration
	MaxConnections   int
	MaxEventStreams  int
	CORSOrigins      []string

	WebhookWorkers    int
	WebhookPerHost    int
	WebhookAttempts   int
	WebhookRetryBase  time.Duration
	WebhookTimeout    time.Duration
	WebhookAllowHosts []string
	WebhooksPerOwner  int
	ImportMaxLines    int // lines of one bulk import
	ImportMaxRunning  int // unfinished bulk imports of one supplier
	ImportInFlight    int // images of one bulk import fetched at once

	PurgeEvery        time.Duration
	PurgeGrace        time.Duration
	DirectTTL         time.Duration
	Storage           string // local or s3
	S3Endpoint        string
	S3Region          string
	S3Bucket          string
	S3PathStyle       bool
	S3AccessKeyID     string
	S3SecretAccessKey string
	S3SessionToken    string
	S3PublicURL       string
	S3PresignExpiry   time.Duration
	S3MaxRetries      int
}

// setting describes one configuration value: its flag, its environment variable, its default
// and its help text, which also feed the README's table.
type setting struct {
	flag, env, def, help string
	secret               bool
	set                  func(c *config, v string) error
}

var settings = []setting{
	{"database-url", "DATABASE_URL", "", "PostgreSQL URL of Vitrine's login role (vitrine_app); empty runs a private cluster under <data-dir>/pg", true,
		func(c *config, v string) error { c.DatabaseURL = v; return nil }},
	{"migrate-database-url", "VITRINE_MIGRATE_DATABASE_URL", "", "PostgreSQL URL of the tables' owner, for migrations; empty: DATABASE_URL for `migrate`, none for `serve`", true,
		func(c *config, v string) error { c.MigrateURL = v; return nil }},
	{"addr", "VITRINE_ADDR", ":8080", "HTTP listen address", false,
		func(c *config, v string) error { c.Addr = v; return nil }},
	{"data-dir", "VITRINE_DATA_DIR", "./var", "where the embedded defaults keep their files (objects/, pg/)", false,
		func(c *config, v string) error { c.DataDir = v; return nil }},
	{"public-url", "VITRINE_PUBLIC_URL", "", "base URL of this server as clients reach it; default http://localhost:<port>", false,
		func(c *config, v string) error { c.PublicURL = strings.TrimRight(v, "/"); return nil }},
	{"max-upload-bytes", "VITRINE_MAX_UPLOAD_BYTES", "26214400", "largest accepted upload, in bytes (25 MiB)", false,
		func(c *config, v string) (err error) { c.MaxUploadBytes, err = strconv.ParseInt(v, 10, 64); return }},
	{"max-pixels", "VITRINE_MAX_PIXELS", "50000000", "most pixels (width x height) an upload may declare", false,
		func(c *config, v string) (err error) { c.MaxPixels, err = strconv.ParseInt(v, 10, 64); return }},
	{"log-level", "VITRINE_LOG_LEVEL", "info", "debug, info, warn or error", false,
		func(c *config, v string) error { c.LogLevel = v; return nil }},
	{"metrics-addr", "VITRINE_METRICS_ADDR", "127.0.0.1:9464", "listen address of Prometheus's `/metrics` (its own listener, apart from the API's, loopback by default; the default being taken is only a warning); `off`: none", false,
		func(c *config, v string) error {
			if v == "off" {
				v = ""
			}
			c.MetricsAddr = v
			return nil
		}},
	{"otlp-endpoint", "OTEL_EXPORTER_OTLP_ENDPOINT", "", "base URL of an OTLP/HTTP collector (traces go to <url>/v1/traces); empty: no tracing", false,
		func(c *config, v string) error { c.OTLPEndpoint = v; return nil }},
	{"shutdown-timeout", "VITRINE_SHUTDOWN_TIMEOUT", "30s", "how long running requests and jobs may take to finish at shutdown", false,
		func(c *config, v string) (err error) { c.ShutdownTimeout, err = time.ParseDuration(v); return }},
	{"thumbnails-for", "VITRINE_THUMBNAILS_FOR", "main", "which images get thumbnails: main (each product's image 0) or all", false,
		func(c *config, v string) error {
			c.ThumbnailsFor = gallery.ThumbnailsFor(v)
			if c.ThumbnailsFor != gallery.ThumbnailsForMain && c.ThumbnailsFor != gallery.ThumbnailsForAll {
				return fmt.Errorf("not %s or %s", gallery.ThumbnailsForMain, gallery.ThumbnailsForAll)
			}
			return nil
		}},
	{"presets", "VITRINE_PRESETS", "minithumb:96,mobile:480,tablet:1024,desktop:1600", "thumbnail presets, name:longest-side, including desktop", false,
		func(c *config, v string) (err error) { c.Presets, err = gallery.ParsePresets(v); return }},
	{"thumbnail-formats", "VITRINE_THUMBNAIL_FORMATS", "webp,jpeg", "formats of each preset (webp, jpeg, avif); the first fills the thumbnails column", false,
		func(c *config, v string) error {
			c.ThumbnailFormats = strings.Split(v, ",")
			for _, f := range c.ThumbnailFormats {
				if f != "webp" && f != "jpeg" && f != "avif" {
					return fmt.Errorf("%q is not webp, jpeg or avif", f)
				}
			}
			return nil
		}},
	{"workers", "VITRINE_WORKERS", strconv.Itoa(runtime.NumCPU()), "thumbnail jobs this process works at once (0: none)", false,
		func(c *config, v string) (err error) { c.Workers, err = strconv.Atoi(v); return }},
	{"job-memory", "VITRINE_JOB_MEMORY", "512", "MiB the image jobs of this process may use at once, by their estimates; a larger job runs alone", false,
		func(c *config, v string) (err error) { c.JobMemoryMiB, err = strconv.ParseInt(v, 10, 64); return }},
	{"job-max-attempts", "VITRINE_JOB_MAX_ATTEMPTS", "10", "attempts before a job is given up", false,
		func(c *config, v string) (err error) { c.JobMaxAttempts, err = strconv.Atoi(v); return }},
	{"job-retry-base", "VITRINE_JOB_RETRY_BASE", "5s", "delay before a job's first retry; it doubles with each attempt, up to an hour", false,
		func(c *config, v string) (err error) { c.JobRetryBase, err = time.ParseDuration(v); return }},
	{"job-rescue-after", "VITRINE_JOB_RESCUE_AFTER", "5m", "a job running this long without an answer is taken over (its worker died)", false,
		func(c *config, v string) (err error) { c.JobRescueAfter, err = time.ParseDuration(v); return }},
	{"admin-password", "VITRINE_ADMIN_PASSWORD", "", "password of the job UI at /admin/jobs (user admin); empty: loopback clients only", true,
		func(c *config, v string) error { c.AdminPassword = v; return nil }},
	{"env", "VITRINE_ENV", "development", "development or production; production refuses to start without a JWT secret or JWKS", false,
		func(c *config, v string) error {
			c.Env = v
			if v != "development" && v != "production" {
				return errors.New("not development or production")
			}
			return nil
		}},
	{"jwt-secret", "VITRINE_JWT_SECRET", "", "HS256 secret of bearer tokens (Supabase's JWT secret); empty with no JWKS: dev mode", true,
		func(c *config, v string) error { c.JWTSecret = v; return nil }},
	{"jwks-file", "VITRINE_JWKS_FILE", "", "JWKS file of RS256/ES256 public keys accepted for bearer tokens", false,
		func(c *config, v string) error { c.JWKSFile = v; return nil }},
	{"jwt-issuer", "VITRINE_JWT_ISSUER", "", "required iss of bearer tokens, when set", false,
		func(c *config, v string) error { c.JWTIssuer = v; return nil }},
	{"jwt-audience", "VITRINE_JWT_AUDIENCE", "", "required aud of bearer tokens, when set (Supabase: authenticated)", false,
		func(c *config, v string) error { c.JWTAudience = v; return nil }},
	{"supplier-claim", "VITRINE_SUPPLIER_CLAIM", "", "path of the token's claim naming the supplier a user acts for, dotted (Supabase: app_metadata.supplier_id); empty: the user's own id, or a team's supplier chosen with the Vitrine-Supplier header; written to the database at start-up, so give every process the same", false,
		func(c *config, v string) (err error) { c.SupplierClaim, err = jwtauth.ParseClaimPath(v); return }},
	{"uploads-per-minute", "VITRINE_UPLOADS_PER_MINUTE", "60", "uploads a caller may make a minute (0: unlimited)", false,
		func(c *config, v string) (err error) { c.UploadsPerMinute, err = strconv.ParseFloat(v, 64); return }},
	{"upload-burst", "VITRINE_UPLOAD_BURST", "20", "uploads a caller may make at once before the per-minute rate applies", false,
		func(c *config, v string) (err error) { c.UploadBurst, err = strconv.ParseFloat(v, 64); return }},
	{"writes-per-minute", "VITRINE_WRITES_PER_MINUTE", "600", "changes a caller may make a minute: creating or deleting products, moving, reordering or deleting images, editing (0: unlimited)", false,
		func(c *config, v string) (err error) { c.WritesPerMinute, err = strconv.ParseFloat(v, 64); return }},
	{"write-burst", "VITRINE_WRITE_BURST", "120", "changes a caller may make at once before the per-minute rate applies", false,
		func(c *config, v string) (err error) { c.WriteBurst, err = strconv.ParseFloat(v, 64); return }},
	{"max-pixels-per-byte", "VITRINE_MAX_PIXELS_PER_BYTE", "1000", "most pixels an upload of more than VITRINE_DENSITY_CHECK_PIXELS pixels may declare per byte of file (0: no check)", false,
		func(c *config, v string) (err error) { c.MaxPixelsPerByte, err = strconv.ParseFloat(v, 64); return }},
	{"density-check-pixels", "VITRINE_DENSITY_CHECK_PIXELS", "4000000", "uploads declaring more pixels than this must meet VITRINE_MAX_PIXELS_PER_BYTE", false,
		func(c *config, v string) (err error) { c.DensityFrom, err = strconv.ParseInt(v, 10, 64); return }},
	{"upload-stall-timeout", "VITRINE_UPLOAD_STALL_TIMEOUT", "30s", "an upload whose body stops arriving for this long is cut off", false,
		func(c *config, v string) (err error) { c.UploadStall, err = time.ParseDuration(v); return }},
	{"upload-timeout", "VITRINE_UPLOAD_TIMEOUT", "10m", "the longest an upload's body may take", false,
		func(c *config, v string) (err error) { c.UploadTimeout, err = time.ParseDuration(v); return }},
	{"max-concurrent-uploads", "VITRINE_MAX_CONCURRENT_UPLOADS", "16", "upload bodies (multipart uploads and direct-upload completions) this process takes in at once, whoever sends them", false,
		func(c *config, v string) (err error) { c.MaxUploads, err = strconv.Atoi(v); return }},
	{"upload-queue-timeout", "VITRINE_UPLOAD_QUEUE_TIMEOUT", "30s", "how long an upload waits for a free slot before it is refused with 503 and Retry-After", false,
		func(c *config, v string) (err error) { c.UploadQueueWait, err = time.ParseDuration(v); return }},
	{"memory-limit", "VITRINE_MEMORY_LIMIT", "256MiB", "soft limit of the Go runtime's memory (debug.SetMemoryLimit) when GOMEMLIMIT is not set; 0: none", false,
		func(c *config, v string) (err error) { c.MemoryLimit, err = parseBytes(v); return }},
	{"body-timeout", "VITRINE_BODY_TIMEOUT", "15s", "the longest a request body other than an upload's may take to arrive", false,
		func(c *config, v string) (err error) { c.BodyTimeout, err = time.ParseDuration(v); return }},
	{"write-timeout", "VITRINE_WRITE_TIMEOUT", "10m", "the longest a response may take, from its request (an upload: from the end of its upload timeout)", false,
		func(c *config, v string) (err error) { c.WriteTimeout, err = time.ParseDuration(v); return }},
	{"idle-timeout", "VITRINE_IDLE_TIMEOUT", "60s", "how long a kept-alive connection may wait for its next request", false,
		func(c *config, v string) (err error) { c.IdleTimeout, err = time.ParseDuration(v); return }},
	{"max-connections", "VITRINE_MAX_CONNECTIONS", "1024", "most client connections this process holds open at once; more wait to be accepted", false,
		func(c *config, v string) (err error) { c.MaxConnections, err = strconv.Atoi(v); return }},
	{"max-event-streams", "VITRINE_MAX_EVENT_STREAMS", "1000", "most event streams (GET /v1/products/{id}/events) this process holds open at once; more are refused with 503 and Retry-After", false,
		func(c *config, v string) (err error) { c.MaxEventStreams, err = strconv.Atoi(v); return }},
	{"import-max-lines", "VITRINE_IMPORT_MAX_LINES", "10000", "most lines of one bulk import (POST /v1/imports, `vitrine import`); a longer feed is refused whole with 413", false,
		func(c *config, v string) (err error) { c.ImportMaxLines, err = strconv.Atoi(v); return }},
	{"import-max-running", "VITRINE_IMPORT_MAX_RUNNING", "4", "most unfinished bulk imports of one supplier; another is refused with 429 until one finishes", false,
		func(c *config, v string) (err error) { c.ImportMaxRunning, err = strconv.Atoi(v); return }},
	{"import-in-flight", "VITRINE_IMPORT_IN_FLIGHT", "8", "images of one bulk import being fetched at once; its other lines wait their turn, so a long feed neither fills the fetch queue nor holds up other imports", false,
		func(c *config, v string) (err error) { c.ImportInFlight, err = strconv.Atoi(v); return }},
	{"cors-origins", "VITRINE_CORS_ORIGINS", "", "comma-separated origins (scheme://host[:port]) whose pages may call /v1 from a browser with a bearer token; empty: none (no CORS headers)", false,
		func(c *config, v string) (err error) { c.CORSOrigins, err = httpapi.ParseOrigins(v); return }},
	{"webhook-workers", "VITRINE_WEBHOOK_WORKERS", "8", "webhook deliveries this process sends at once (with VITRINE_WORKERS > 0)", false,
		func(c *config, v string) (err error) { c.WebhookWorkers, err = strconv.Atoi(v); return }},
	{"webhook-per-host", "VITRINE_WEBHOOK_PER_HOST", "4", "webhook deliveries this process sends at once to one host:port; more wait their turn without spending an attempt", false,
		func(c *config, v string) (err error) { c.WebhookPerHost, err = strconv.Atoi(v); return }},
	{"webhook-max-attempts", "VITRINE_WEBHOOK_MAX_ATTEMPTS", "8", "attempts at a webhook delivery before it is failed", false,
		func(c *config, v string) (err error) { c.WebhookAttempts, err = strconv.Atoi(v); return }},
	{"webhook-retry-base", "VITRINE_WEBHOOK_RETRY_BASE", "1m", "wait before a webhook delivery's second attempt; it doubles with each attempt (8 attempts span about two hours), up to 6h", false,
		func(c *config, v string) (err error) { c.WebhookRetryBase, err = time.ParseDuration(v); return }},
	{"webhook-timeout", "VITRINE_WEBHOOK_TIMEOUT", "10s", "the longest one webhook attempt may take, from connecting to the end of the answer", false,
		func(c *config, v string) (err error) { c.WebhookTimeout, err = time.ParseDuration(v); return }},
	{"webhook-allow-hosts", "VITRINE_WEBHOOK_ALLOW_HOSTS", "", "comma-separated host or host:port entries that webhook deliveries may reach even on a private or loopback address; empty: public addresses only", false,
		func(c *config, v string) (err error) { c.WebhookAllowHosts, err = safehttp.ParseAllowHosts(v); return }},
	{"webhooks-per-supplier", "VITRINE_WEBHOOKS_PER_SUPPLIER", "20", "webhook endpoints one supplier may register (and global ones, together)", false,
		func(c *config, v string) (err error) { c.WebhooksPerOwner, err = strconv.Atoi(v); return }},
	{"keep-original-metadata", "VITRINE_KEEP_ORIGINAL_METADATA", "false", "keep EXIF, GPS and XMP in stored originals (by default they are stripped)", false,
		func(c *config, v string) (err error) { c.KeepMetadata, err = strconv.ParseBool(v); return }},
	{"import-allow-hosts", "VITRINE_IMPORT_ALLOW_HOSTS", "", "comma-separated hosts (host or host:port) that imports by URL may reach even at private or loopback addresses, such as a mirror on a private network; empty: public addresses only", false,
		func(c *config, v string) (err error) { c.ImportAllowHosts, err = safehttp.ParseAllowHosts(v); return }},
	{"import-timeout", "VITRINE_IMPORT_TIMEOUT", "60s", "the longest one fetch of an import's source may take, from its request to the last byte (connecting takes at most 5s, the response headers 10s)", false,
		func(c *config, v string) (err error) { c.ImportTimeout, err = time.ParseDuration(v); return }},
	{"import-workers", "VITRINE_IMPORT_WORKERS", "8", "imports by URL this process fetches at once (0: none; another process works them)", false,
		func(c *config, v string) (err error) { c.ImportWorkers, err = strconv.Atoi(v); return }},
	{"import-per-host", "VITRINE_IMPORT_PER_HOST", "4", "imports this process fetches at once from one source host; an import over it waits for one of them to end, holding its worker 50 ms at most, then snoozed without holding one", false,
		func(c *config, v string) (err error) { c.ImportPerHost, err = strconv.Atoi(v); return }},
	{"upload-types", "VITRINE_UPLOAD_TYPES", upload.DefaultTypes, "comma-separated image types accepted by uploads (direct ones too), others refused with 415: jpeg, png, gif, webp, heic, heif, avif", false,
		func(c *config, v string) (err error) { c.UploadTypes, err = upload.ParseTypes(v); return }},
	{"purge-every", "VITRINE_PURGE_EVERY", "168h", "how often the orphan purge runs (0: never on its own); an overdue run starts at boot", false,
		func(c *config, v string) (err error) { c.PurgeEvery, err = time.ParseDuration(v); return }},
	{"purge-grace", "VITRINE_PURGE_GRACE", "48h", "the orphan purge keeps unreferenced objects younger than this", false,
		func(c *config, v string) (err error) { c.PurgeGrace, err = time.ParseDuration(v); return }},
	{"direct-upload-ttl", "VITRINE_DIRECT_UPLOAD_TTL", "1h", "how long a direct upload's presigned PUT URL is valid; an upload not completed by then is removed with its object", false,
		func(c *config, v string) (err error) { c.DirectTTL, err = time.ParseDuration(v); return }},
	{"storage", "VITRINE_STORAGE", "local", "where objects are kept: local (<data-dir>/objects) or s3 (an S3-compatible bucket)", false,
		func(c *config, v string) error {
			c.Storage = v
			if v != "local" && v != "s3" {
				return errors.New("not local or s3")
			}
			return nil
		}},
	{"s3-endpoint", "VITRINE_S3_ENDPOINT", "", "base URL of the S3 API (with its path for Supabase); empty: AWS S3 in the region", false,
		func(c *config, v string) error { c.S3Endpoint = strings.TrimRight(v, "/"); return nil }},
	{"s3-region", "VITRINE_S3_REGION", "us-east-1", "region requests are signed for (R2: auto)", false,
		func(c *config, v string) error { c.S3Region = v; return nil }},
	{"s3-bucket", "VITRINE_S3_BUCKET", "", "bucket holding the objects (it must exist)", false,
		func(c *config, v string) error { c.S3Bucket = v; return nil }},
	{"s3-path-style", "VITRINE_S3_PATH_STYLE", "false", "address the bucket in the URL path rather than the host name (MinIO, Supabase, versitygw)", false,
		func(c *config, v string) (err error) { c.S3PathStyle, err = strconv.ParseBool(v); return }},
	{"s3-access-key-id", "VITRINE_S3_ACCESS_KEY_ID", "", "access key id; empty: AWS_ACCESS_KEY_ID", true,
		func(c *config, v string) error { c.S3AccessKeyID = v; return nil }},
	{"s3-secret-access-key", "VITRINE_S3_SECRET_ACCESS_KEY", "", "secret access key; empty: AWS_SECRET_ACCESS_KEY", true,
		func(c *config, v string) error { c.S3SecretAccessKey = v; return nil }},
	{"s3-session-token", "VITRINE_S3_SESSION_TOKEN", "", "session token of temporary credentials; empty: AWS_SESSION_TOKEN when the keys come from AWS_*", true,
		func(c *config, v string) error { c.S3SessionToken = v; return nil }},
	{"s3-public-url", "VITRINE_S3_PUBLIC_URL", "", "base URL serving the bucket's objects publicly (a public bucket, a CDN); objects' URLs are it + / + key", false,
		func(c *config, v string) error { c.S3PublicURL = strings.TrimRight(v, "/"); return nil }},
	{"s3-presign-expiry", "VITRINE_S3_PRESIGN_EXPIRY", "15m", "without a public URL, how long the presigned URLs that /objects/{key} redirects to are valid", false,
		func(c *config, v string) (err error) { c.S3PresignExpiry, err = time.ParseDuration(v); return }},
	{"s3-max-retries", "VITRINE_S3_MAX_RETRIES", "4", "times a failed S3 request (network error, timeout, 5xx, SlowDown) is retried before the operation fails", false,
		func(c *config, v string) (err error) { c.S3MaxRetries, err = strconv.Atoi(v); return }},
}

// loadConfig reads the environment and then args, and validates the result, reporting every
// problem at once.
func loadConfig(fs *flag.FlagSet, args []string, getenv func(string) string) (config, error) {
	var c config
	var errs []error
	values := make(map[string]*string, len(settings))
	for _, s := range settings {
		v, _, err := s.lookup(getenv)
		if err != nil {
			errs = append(errs, err)
		}
		values[s.flag] = fs.String(s.flag, v, s.help+" ($"+s.env+")")
		if s.secret && v != "" {
			fs.Lookup(s.flag).DefValue = redacted // -h prints defaults: never a secret
		}
	}
	if err := fs.Parse(args); err != nil {
		return c, usageError{err}
	}
	for _, s := range settings {
		if err := s.set(&c, *values[s.flag]); err != nil {
			errs = append(errs, fmt.Errorf("%s (-%s): %q is not valid: %w", s.env, s.flag, *values[s.flag], err))
		}
	}
	c.MetricsAddrChosen = getenv("VITRINE_METRICS_ADDR") != ""
	fs.Visit(func(f *flag.Flag) { c.MetricsAddrChosen = c.MetricsAddrChosen || f.Name == "metrics-addr" })
	if c.S3AccessKeyID == "" && c.S3SecretAccessKey == "" {
		// The AWS SDKs' variables, as a fallback.
		c.S3AccessKeyID, c.S3SecretAccessKey = getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
		if c.S3SessionToken == "" {
			c.S3SessionToken = getenv("AWS_SESSION_TOKEN")
		}
	}
	errs = append(errs, c.validate()...)
	return c, errors.Join(errs...)
}

func (c *config) validate() []error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("VITRINE_ADDR: %q is not host:port", c.Addr))
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			errs = append(errs, fmt.Errorf("VITRINE_METRICS_ADDR: %q is not host:port", c.MetricsAddr))
		}
	}
	if c.OTLPEndpoint != "" {
		if u, err := url.Parse(c.OTLPEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT: %q is not an http(s) URL", c.OTLPEndpoint))
		}
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("VITRINE_DATA_DIR must not be empty"))
	}
	if c.MaxUploadBytes <= 0 {
		errs = append(errs, errors.New("VITRINE_MAX_UPLOAD_BYTES must be positive"))
	}
	if c.MaxPixels <= 0 {
		errs = append(errs, errors.New("VITRINE_MAX_PIXELS must be positive"))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("VITRINE_SHUTDOWN_TIMEOUT must be positive"))
	}
	if c.Workers < 0 {
		errs = append(errs, errors.New("VITRINE_WORKERS must not be negative"))
	}
	if c.JobMaxAttempts < 1 {
		errs = append(errs, errors.New("VITRINE_JOB_MAX_ATTEMPTS must be at least 1"))
	}
	if c.JobRetryBase <= 0 || c.JobRescueAfter <= 0 {
		errs = append(errs, errors.New("VITRINE_JOB_RETRY_BASE and VITRINE_JOB_RESCUE_AFTER must be positive"))
	}
	if c.UploadStall <= 0 || c.UploadTimeout <= 0 {
		errs = append(errs, errors.New("VITRINE_UPLOAD_STALL_TIMEOUT and VITRINE_UPLOAD_TIMEOUT must be positive"))
	}
	if c.ImportTimeout <= 0 {
		errs = append(errs, errors.New("VITRINE_IMPORT_TIMEOUT must be positive"))
	}
	if c.ImportWorkers < 0 || c.ImportPerHost < 1 {
		errs = append(errs, errors.New("VITRINE_IMPORT_WORKERS must not be negative and VITRINE_IMPORT_PER_HOST must be at least 1"))
	}
	if c.MaxUploads < 1 {
		errs = append(errs, errors.New("VITRINE_MAX_CONCURRENT_UPLOADS must be at least 1"))
	}
	if c.UploadQueueWait < 0 {
		errs = append(errs, errors.New("VITRINE_UPLOAD_QUEUE_TIMEOUT must not be negative"))
	}
	if c.MemoryLimit < 0 {
		errs = append(errs, errors.New("VITRINE_MEMORY_LIMIT must not be negative"))
	}
	if c.BodyTimeout <= 0 || c.WriteTimeout <= 0 || c.IdleTimeout <= 0 {
		errs = append(errs, errors.New("VITRINE_BODY_TIMEOUT, VITRINE_WRITE_TIMEOUT and VITRINE_IDLE_TIMEOUT must be positive"))
	}
	if c.MaxConnections < 1 {
		errs = append(errs, errors.New("VITRINE_MAX_CONNECTIONS must be at least 1"))
	}
	if c.WebhookWorkers < 1 || c.WebhookPerHost < 1 || c.WebhookAttempts < 1 || c.WebhooksPerOwner < 1 {
		errs = append(errs, errors.New("VITRINE_WEBHOOK_WORKERS, VITRINE_WEBHOOK_PER_HOST, VITRINE_WEBHOOK_MAX_ATTEMPTS and VITRINE_WEBHOOKS_PER_SUPPLIER must be at least 1"))
	}
	if c.WebhookRetryBase <= 0 || c.WebhookTimeout <= 0 {
		errs = append(errs, errors.New("VITRINE_WEBHOOK_RETRY_BASE and VITRINE_WEBHOOK_TIMEOUT must be positive"))
	}
	if c.ImportMaxLines < 1 || c.ImportMaxRunning < 1 || c.ImportInFlight < 1 {
		errs = append(errs, errors.New("VITRINE_IMPORT_MAX_LINES, VITRINE_IMPORT_MAX_RUNNING and VITRINE_IMPORT_IN_FLIGHT must be at least 1"))
	}
	if c.MaxEventStreams < 1 {
		errs = append(errs, errors.New("VITRINE_MAX_EVENT_STREAMS must be at least 1"))
	}
	if c.UploadsPerMinute < 0 || c.UploadBurst < 1 {
		errs = append(errs, errors.New("VITRINE_UPLOADS_PER_MINUTE must not be negative and VITRINE_UPLOAD_BURST must be at least 1"))
	}
	if c.WritesPerMinute < 0 || c.WriteBurst < 1 {
		errs = append(errs, errors.New("VITRINE_WRITES_PER_MINUTE must not be negative and VITRINE_WRITE_BURST must be at least 1"))
	}
	if c.MaxPixelsPerByte < 0 || c.DensityFrom < 0 {
		errs = append(errs, errors.New("VITRINE_MAX_PIXELS_PER_BYTE and VITRINE_DENSITY_CHECK_PIXELS must not be negative"))
	}
	if c.JobMemoryMiB < 64 {
		errs = append(errs, errors.New("VITRINE_JOB_MEMORY must be at least 64 (MiB)"))
	}
	if c.DirectTTL < time.Second || c.DirectTTL > 7*24*time.Hour {
		errs = append(errs, errors.New("VITRINE_DIRECT_UPLOAD_TTL must be between 1s and 7 days (S3 presigned URLs)"))
	}
	if c.PurgeEvery < 0 || c.PurgeGrace < 0 {
		errs = append(errs, errors.New("VITRINE_PURGE_EVERY and VITRINE_PURGE_GRACE must not be negative"))
	}
	if c.Env == "production" && c.JWTSecret == "" && c.JWKSFile == "" {
		errs = append(errs, errors.New("VITRINE_ENV=production needs VITRINE_JWT_SECRET or VITRINE_JWKS_FILE: dev mode is refused in production"))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("VITRINE_LOG_LEVEL: %q is not debug, info, warn or error", c.LogLevel))
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("VITRINE_PUBLIC_URL: %q is not an http(s) URL", c.PublicURL))
		}
	}
	if c.Storage == "s3" {
		errs = append(errs, c.validateS3()...)
	}
	if c.DatabaseURL != "" {
		if _, err := url.Parse(c.DatabaseURL); err != nil && !strings.Contains(c.DatabaseURL, "=") {
			errs = append(errs, errors.New("DATABASE_URL is not a PostgreSQL URL or connection string"))
		}
	}
	return errs
}

// validateS3 checks the S3 settings, which matter only with VITRINE_STORAGE=s3.
func (c *config) validateS3() []error {
	var errs []error
	if c.S3Bucket == "" {
		errs = append(errs, errors.New("VITRINE_STORAGE=s3 needs VITRINE_S3_BUCKET"))
	}
	if c.S3AccessKeyID == "" || c.S3SecretAccessKey == "" {
		errs = append(errs, errors.New("VITRINE_STORAGE=s3 needs VITRINE_S3_ACCESS_KEY_ID and VITRINE_S3_SECRET_ACCESS_KEY (or their _FILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"))
	}
	if c.S3Region == "" {
		errs = append(errs, errors.New("VITRINE_S3_REGION must not be empty"))
	}
	if c.S3Endpoint != "" {
		if u, err := url.Parse(c.S3Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
			errs = append(errs, fmt.Errorf("VITRINE_S3_ENDPOINT: %q is not an http(s) URL", c.S3Endpoint))
		}
	}
	if c.S3PublicURL != "" {
		if u, err := url.Parse(c.S3PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("VITRINE_S3_PUBLIC_URL: %q is not an http(s) URL", c.S3PublicURL))
		}
	}
	if c.S3PresignExpiry < time.Second || c.S3PresignExpiry > s3store.MaxPresignExpiry {
		errs = append(errs, fmt.Errorf("VITRINE_S3_PRESIGN_EXPIRY must be between 1s and %v (S3's limit)", s3store.MaxPresignExpiry))
	}
	if c.S3MaxRetries < 0 {
		errs = append(errs, errors.New("VITRINE_S3_MAX_RETRIES must not be negative"))
	}
	return errs
}

// publicURL is the base of the URLs handed to clients.
func (c *config) publicURL() string {
	if c.PublicURL != "" {
		return c.PublicURL
	}
	host, port, _ := net.SplitHostPort(c.Addr)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}
