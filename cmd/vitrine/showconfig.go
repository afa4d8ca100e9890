package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
)

// Where a setting's value comes from, as `vitrine config` says.
const (
	sourceFlag    = "flag"
	sourceEnv     = "environment"
	sourceFile    = "file"
	sourceDefault = "default"
)

// lookup returns the value of s before flags are read, and where it comes from: its
// environment variable, else for a secret the file its _FILE variable names (trimmed), else
// its default.
func (s setting) lookup(getenv func(string) string) (value, source string, err error) {
	if v := getenv(s.env); v != "" {
		return v, sourceEnv, nil
	}
	if path := getenv(s.env + "_FILE"); s.secret && path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", sourceFile, fmt.Errorf("%s_FILE: %w", s.env, err)
		}
		return strings.TrimSpace(string(b)), sourceFile, nil
	}
	return s.def, sourceDefault, nil
}

// usageError is an error of the command line itself (flag.ErrHelp, an unknown flag), which the
// flag package has already reported with the usage.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// redacted stands for the value of a secret that is set.
const redacted = "[redacted]"

// shownSetting is one line of `vitrine config`.
type shownSetting struct {
	Env    string `json:"env"`
	Flag   string `json:"flag"`
	Value  string `json:"value"` // a secret's is redacted, or "" when it is not set
	Source string `json:"source"`
	Secret bool   `json:"secret"`
}

// configCommand prints the effective configuration: every setting, its value (secrets
// redacted) and where the value comes from. A configuration that is not valid is printed all
// the same, followed by its problems, and the command fails.
func configCommand(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var asJSON bool
	fs := flag.NewFlagSet("vitrine config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&asJSON, "json", false, "print JSON, for machines")
	cfg, loadErr := loadConfig(fs, args, getenv)
	if errors.As(loadErr, new(usageError)) {
		return loadErr // -h, or a flag that is not one: the flag package said so
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("config takes no arguments, got %q", fs.Args())
	}
	fromFlags := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { fromFlags[f.Name] = true })
	// The S3 credentials fall back to the AWS SDKs' variables (see loadConfig).
	aws := map[string]struct{ env, value string }{
		"s3-access-key-id":     {"AWS_ACCESS_KEY_ID", cfg.S3AccessKeyID},
		"s3-secret-access-key": {"AWS_SECRET_ACCESS_KEY", cfg.S3SecretAccessKey},
		"s3-session-token":     {"AWS_SESSION_TOKEN", cfg.S3SessionToken},
	}
	shown := make([]shownSetting, 0, len(settings))
	for _, s := range settings {
		value := fs.Lookup(s.flag).Value.String()
		_, source, _ := s.lookup(getenv) // an unreadable file is among loadErr
		switch {
		case fromFlags[s.flag]:
			source = sourceFlag
		case source == sourceFile:
			source += " (" + s.env + "_FILE=" + getenv(s.env+"_FILE") + ")"
		}
		if fb, ok := aws[s.flag]; ok && value == "" && fb.value != "" {
			value, source = fb.value, sourceEnv+" ("+fb.env+")"
		}
		if s.secret && value != "" {
			value = redacted
		}
		shown = append(shown, shownSetting{Env: s.env, Flag: "-" + s.flag, Value: value, Source: source, Secret: s.secret})
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(shown); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SETTING\tFLAG\tVALUE\tSOURCE")
		for _, s := range shown {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Env, s.Flag, s.Value, s.Source)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if loadErr != nil {
		return errors.Join(errors.New("the configuration is not valid"), loadErr)
	}
	return nil
}
