package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// config is every setting of Vitrine, read from VITRINE_* environment variables (and
// DATABASE_URL), then from flags, which win. Secrets may also come from a file named by the
// variable with _FILE appended.
type config struct {
	DatabaseURL     string
	Addr            string
	DataDir         string
	PublicURL       string
	MaxUploadBytes  int64
	MaxPixels       int64
	LogLevel        string
	ShutdownTimeout time.Duration
}

// setting describes one configuration value: its flag, its environment variable, its default
// and its help text, which also feed the README's table.
type setting struct {
	flag, env, def, help string
	secret               bool
	set                  func(c *config, v string) error
}

var settings = []setting{
	{"database-url", "DATABASE_URL", "", "PostgreSQL connection URL; empty runs a private cluster under <data-dir>/pg", true,
		func(c *config, v string) error { c.DatabaseURL = v; return nil }},
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
	{"shutdown-timeout", "VITRINE_SHUTDOWN_TIMEOUT", "30s", "how long running requests may take to finish at shutdown", false,
		func(c *config, v string) (err error) { c.ShutdownTimeout, err = time.ParseDuration(v); return }},
}

// loadConfig reads the environment and then args, and validates the result, reporting every
// problem at once.
func loadConfig(fs *flag.FlagSet, args []string, getenv func(string) string) (config, error) {
	var c config
	var errs []error
	values := make(map[string]*string, len(settings))
	for _, s := range settings {
		v := s.def
		if e := getenv(s.env); e != "" {
			v = e
		} else if s.secret && getenv(s.env+"_FILE") != "" {
			b, err := os.ReadFile(getenv(s.env + "_FILE"))
			if err != nil {
				errs = append(errs, fmt.Errorf("%s_FILE: %w", s.env, err))
			}
			v = strings.TrimSpace(string(b))
		}
		values[s.flag] = fs.String(s.flag, v, s.help+" ($"+s.env+")")
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	for _, s := range settings {
		if err := s.set(&c, *values[s.flag]); err != nil {
			errs = append(errs, fmt.Errorf("%s (-%s): %q is not valid: %w", s.env, s.flag, *values[s.flag], err))
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
	if c.DatabaseURL != "" {
		if _, err := url.Parse(c.DatabaseURL); err != nil && !strings.Contains(c.DatabaseURL, "=") {
			errs = append(errs, errors.New("DATABASE_URL is not a PostgreSQL URL or connection string"))
		}
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
