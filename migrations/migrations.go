// Package migrations holds RD's schema as SQL migrations, embedded into the
// binary so `rd migrate up` needs nothing but the database URL.
//
// Files are named <UTC timestamp>_<name>.tx.up.sql and .tx.down.sql (create a
// pair with `rd migrate create NAME`); the .tx. makes bun run each file in one
// transaction. Apply them with store.NewMigrator(db, migrations.Migrations).
package migrations

import (
	"embed"

	"github.com/uptrace/bun/migrate"
)

//go:embed *.sql
var sqlFiles embed.FS

// Migrations is every migration in this folder, discovered when the package
// is initialised.
var Migrations = migrate.NewMigrations()

func init() {
	// A malformed file name is a build defect, not a runtime condition:
	// fail at start-up rather than silently skip a migration.
	if err := Migrations.Discover(sqlFiles); err != nil {
		panic(err)
	}
}
