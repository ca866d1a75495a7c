package store

// InterpretError exposes interpretError to the external test package, which
// cannot import pgtest from inside package store (pgtest imports store).
var InterpretError = interpretError

// CreateMigrationAt exposes createMigrationAt, so tests can pin the clock.
var CreateMigrationAt = createMigrationAt
