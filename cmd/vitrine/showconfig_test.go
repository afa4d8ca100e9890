package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// configOutput runs `vitrine config args...` with env and returns what it printed (stdout
// and stderr) and its error.
func configOutput(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), append([]string{"config"}, args...), envOf(env), &out, &errOut)
	return out.String(), errOut.String(), err
}

// TestConfigNeverPrintsASecret sets every secret setting of the table in each way it can be
// set (environment, flag, file named by _FILE) and checks that `vitrine config`, as text, as
// JSON and with -h, never prints the secret, says the secret is set and where it comes from.
func TestConfigNeverPrintsASecret(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var secrets []setting
	for _, s := range settings {
		if s.secret {
			secrets = append(secrets, s)
		}
	}
	if len(secrets) < 6 {
		t.Fatalf("only %d secret settings", len(secrets))
	}
	for _, way := range []string{sourceEnv, sourceFlag, sourceFile} {
		env := map[string]string{}
		var args []string
		tokens := map[string]string{}
		for _, s := range secrets {
			token := "tok-" + way + "-" + s.flag + "-5ecret"
			tokens[s.env] = token
			value := token
			if strings.HasSuffix(s.env, "DATABASE_URL") {
				value = "postgres://u:" + token + "@db.example:5432/vitrine?password=" + token
			}
			switch way {
			case sourceEnv:
				env[s.env] = value
			case sourceFlag:
				args = append(args, "-"+s.flag, value)
			case sourceFile:
				path := filepath.Join(dir, s.env)
				if err := os.WriteFile(path, []byte(value+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				env[s.env+"_FILE"] = path
			}
		}
		text, textErr, err := configOutput(t, env, args...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", way, err, textErr)
		}
		js, jsErr, err := configOutput(t, env, append(args, "-json")...)
		if err != nil {
			t.Fatalf("%s, -json: %v\n%s", way, err, jsErr)
		}
		help, helpErr, err := configOutput(t, env, append(args, "-h")...)
		if !errors.Is(err, flag.ErrHelp) || strings.Contains(help, "SETTING") || !strings.Contains(helpErr, "-jwt-secret") {
			t.Fatalf("-h: %v, printed the table or no usage:\n%s%s", err, help, helpErr)
		}
		for env, token := range tokens {
			for what, out := range map[string]string{"text": text + textErr, "json": js + jsErr, "-h": help + helpErr} {
				if strings.Contains(out, token) || strings.Contains(out, "5ecret") {
					t.Errorf("set by %s, %s is printed by `vitrine config` (%s):\n%s", way, env, what, out)
				}
			}
		}
		var shown []shownSetting
		if err := json.Unmarshal([]byte(js), &shown); err != nil {
			t.Fatal(err)
		}
		if len(shown) != len(settings) {
			t.Fatalf("%d settings shown, the table has %d", len(shown), len(settings))
		}
		for _, s := range shown {
			wantSource := way
			if way == sourceFile {
				wantSource = sourceFile + " (" + s.Env + "_FILE=" + filepath.Join(dir, s.Env) + ")"
			}
			if _, ok := tokens[s.Env]; !ok {
				continue
			}
			if !s.Secret || s.Value != redacted || s.Source != wantSource {
				t.Errorf("set by %s: %+v, want value %q and source %q", way, s, redacted, wantSource)
			}
			if !strings.Contains(text, s.Env) || !strings.Contains(text, redacted) {
				t.Errorf("the text table lacks %s or %s:\n%s", s.Env, redacted, text)
			}
		}
	}
}

// TestConfigShowsValuesAndSources: an ordinary setting is shown with its value and where it
// comes from; the S3 keys' fallback to AWS_* is shown as such, still redacted; a
// configuration that is not valid is shown all the same, then refused.
func TestConfigShowsValuesAndSources(t *testing.T) {
	t.Parallel()
	out, _, err := configOutput(t, map[string]string{
		"VITRINE_ADDR": ":7000", "VITRINE_MAX_PIXELS": "1000", "VITRINE_STORAGE": "s3", "VITRINE_S3_BUCKET": "b",
		"AWS_ACCESS_KEY_ID": "aws-id-5ecret", "AWS_SECRET_ACCESS_KEY": "aws-key-5ecret",
	}, "-json", "-max-pixels", "2000")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "5ecret") {
		t.Fatalf("a secret from AWS_* is printed:\n%s", out)
	}
	var shown []shownSetting
	if err := json.Unmarshal([]byte(out), &shown); err != nil {
		t.Fatal(err)
	}
	want := map[string]shownSetting{
		"VITRINE_ADDR":                 {Value: ":7000", Source: sourceEnv},
		"VITRINE_MAX_PIXELS":           {Value: "2000", Source: sourceFlag},
		"VITRINE_LOG_LEVEL":            {Value: "info", Source: sourceDefault},
		"VITRINE_S3_ACCESS_KEY_ID":     {Value: redacted, Source: sourceEnv + " (AWS_ACCESS_KEY_ID)"},
		"VITRINE_S3_SECRET_ACCESS_KEY": {Value: redacted, Source: sourceEnv + " (AWS_SECRET_ACCESS_KEY)"},
		"VITRINE_JWT_SECRET":           {Value: "", Source: sourceDefault},
	}
	for _, s := range shown {
		if w, ok := want[s.Env]; ok && (s.Value != w.Value || s.Source != w.Source) {
			t.Errorf("%s: value %q from %q, want %q from %q", s.Env, s.Value, s.Source, w.Value, w.Source)
		}
	}

	text, _, err := configOutput(t, map[string]string{"VITRINE_ENV": "production", "VITRINE_LOG_LEVEL": "loud"})
	if err == nil || !strings.Contains(err.Error(), "VITRINE_LOG_LEVEL") || !strings.Contains(err.Error(), "VITRINE_JWT_SECRET") {
		t.Fatalf("an invalid configuration: %v", err)
	}
	if !strings.Contains(text, "VITRINE_LOG_LEVEL") || !strings.Contains(text, "loud") {
		t.Fatalf("an invalid configuration is not shown:\n%s", text)
	}
}
