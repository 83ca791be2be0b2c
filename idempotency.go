package subgate

import "time"

const (
	// IdempotencyAbandonAfter is how long a pending idempotency record may
	// wait for its answer: an older one belongs to a request whose server
	// stopped, and BeginIdempotent treats it as absent and takes it over.
	IdempotencyAbandonAfter = 2 * time.Minute
	// IdempotencyRetention is how long stores keep idempotency records.
	IdempotencyRetention = 24 * time.Hour
)
