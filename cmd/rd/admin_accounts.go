package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/reviewdata/rd/cmd/internal/app"
	"github.com/reviewdata/rd/internal/password"
	"github.com/reviewdata/rd/service"
	"github.com/reviewdata/rd/store"
)

// adminUserCreate is `rd admin user create`: how the first admin account
// comes to exist, since every account endpoint needs one.
func adminUserCreate(ctx context.Context, cfg app.Config, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("admin user create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	email := fs.String("email", "", "the account's email (required)")
	roles := fs.String("role", "", "comma-separated roles to grant, e.g. admin (required)")
	name := fs.String("name", "", "display name")
	fromStdin := fs.Bool("password-stdin", false, "read the password from stdin (its first line) instead of generating one")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *email == "" || *roles == "" {
		fmt.Fprint(stderr, adminUsage)
		return errUsage
	}
	pw, generated := password.Generate(), true
	if *fromStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read password from stdin: %w", err)
		}
		pw, generated = strings.TrimRight(line, "\r\n"), false
	}
	st, err := store.Open(ctx, cfg.Store)
	if err != nil {
		return err
	}
	defer st.Close()
	users := &service.Users{Store: st}
	u, err := users.Create(ctx, service.NewUser{Email: *email, Name: *name, Password: pw, Roles: app.SplitList(*roles)}, nil)
	if err != nil {
		return cliError(err)
	}
	fmt.Fprintf(stdout, "created user %s <%s> with roles %s\n", u.ID, u.Email, strings.Join(u.Roles, ", "))
	if generated {
		fmt.Fprintf(stdout, "password (shown once, store it now): %s\n", pw)
	}
	return nil
}

// adminAPIKeyCreate is `rd admin api-key create`.
func adminAPIKeyCreate(ctx context.Context, cfg app.Config, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("admin api-key create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "a label, like \"RM production\" (required)")
	integrator := fs.String("integrator", "", "the integrator the key belongs to (required)")
	env := fs.String("environment", "", "production or test (required)")
	perMinute := fs.Int("rate-limit-per-minute", 0, "the key's own request limit; 0 uses RATE_LIMIT_API_KEY_PER_MINUTE")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *name == "" || *integrator == "" || *env == "" {
		fmt.Fprint(stderr, adminUsage)
		return errUsage
	}
	var limit *int
	if *perMinute != 0 {
		limit = perMinute
	}
	st, err := store.Open(ctx, cfg.Store)
	if err != nil {
		return err
	}
	defer st.Close()
	keys := &service.APIKeys{Store: st, Integrators: &service.Integrators{Store: st}}
	created, err := keys.Create(ctx, *name, *integrator, store.Environment(*env), limit)
	if err != nil {
		return cliError(err)
	}
	k := created.Key
	fmt.Fprintf(stdout, "created API key %s (prefix %s) for %s, %s, scrape priority %d\n",
		k.ID, k.Prefix, k.Integrator, k.Environment, k.ScrapePriority)
	fmt.Fprintf(stdout, "key (shown once, store it now): %s\n", created.Plain)
	return nil
}

// generateJWTKey returns a new AUTH_JWT_KEYS entry: a dated key ID and 32
// random bytes.
func generateJWTKey() string {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret) // never fails (Go 1.24+)
	return "k" + time.Now().UTC().Format("20060102") + ":" + base64.StdEncoding.EncodeToString(secret)
}

// cliError turns a service error into a line for a person: its code and
// message, without the internal cause.
func cliError(err error) error {
	var se *service.Error
	if errors.As(err, &se) {
		return fmt.Errorf("%s: %s", se.Code, se.Message)
	}
	return err
}
