package main

import (
	"context"
	"fmt"
	"io"

	"github.com/reviewdata/rd/cmd/internal/app"
	"github.com/reviewdata/rd/internal/secrets"
)

// adminUsage is the admin part of the usage text.
const adminUsage = `usage: rd admin <command>

  user create --email E --role R[,R…] [--name N] [--password-stdin]
                         create an operator account (the first admin, say);
                         the password is read from stdin with --password-stdin,
                         else generated and printed once
  api-key create --name N --integrator I --environment production|test
                 [--rate-limit-per-minute N]
                         issue an integrator API key and print it once
  jwt-key generate       print a new key for AUTH_JWT_KEYS
  secrets-key generate   print a new key for SECRETS_KEYS (put it first in the
                         list to rotate; keep the old keys until every secret
                         is re-encrypted)
`

// admin runs `rd admin …`: operator chores that need no running service,
// only (for some) the database.
func admin(ctx context.Context, cfg app.Config, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) >= 2 {
		switch args[0] + " " + args[1] {
		case "secrets-key generate":
			if len(args) == 2 {
				_, err := fmt.Fprintln(stdout, secrets.GenerateKey())
				return err
			}
		case "jwt-key generate":
			if len(args) == 2 {
				_, err := fmt.Fprintln(stdout, generateJWTKey())
				return err
			}
		case "user create":
			return adminUserCreate(ctx, cfg, args[2:], stdin, stdout, stderr)
		case "api-key create":
			return adminAPIKeyCreate(ctx, cfg, args[2:], stdout, stderr)
		}
	}
	fmt.Fprint(stderr, adminUsage)
	return errUsage
}
