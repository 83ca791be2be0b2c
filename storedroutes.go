package subgate

import "context"

// RouteSource says where the routing configuration in force on a node
// comes from.
type RouteSource string

const (
	// RouteSourceDefault is the built-in configuration: every product direct.
	RouteSourceDefault RouteSource = "default"
	// RouteSourceFile is the node's routes file.
	RouteSourceFile RouteSource = "file"
	// RouteSourceStored is the configuration an admin stored through the
	// API; while one is stored it is in force on every node.
	RouteSourceStored RouteSource = "stored"
)

// StoredRoutes is the routing configuration the admin stored, shared by
// every node of the database.
type StoredRoutes struct {
	// Version grows with every store and every drop (0: never stored), so
	// a node that remembers the version it applied sees any change.
	Version int64
	// Config is the configuration as JSON; nil when none is stored.
	Config []byte
}

// RoutesStore keeps the stored routing configuration. Both stores implement
// it beside Store; the configuration is sealed with the store's Cipher at
// rest (it holds upstream and static proxy passwords).
type RoutesStore interface {
	// RoutesVersion is the current version alone: a cheap read to poll.
	RoutesVersion(ctx context.Context) (int64, error)
	// StoredRoutes returns the current version and configuration, opened.
	StoredRoutes(ctx context.Context) (StoredRoutes, error)
	// SetStoredRoutes replaces the configuration (nil drops it) under a new
	// version, higher than every version committed before, and returns it.
	SetStoredRoutes(ctx context.Context, config []byte) (StoredRoutes, error)
}

// StoreRoutes stores a routing configuration (JSON, validated by the
// caller, which knows its schema) for every node: the admin only.
func (s *Service) StoreRoutes(ctx context.Context, p Principal, config []byte) (StoredRoutes, error) {
	if len(config) == 0 {
		return StoredRoutes{}, Invalidf("routes", "is required")
	}
	return s.setStoredRoutes(ctx, p, config)
}

// DropStoredRoutes removes the stored routing configuration: every node goes
// back to its routes file or the default. The admin only.
func (s *Service) DropStoredRoutes(ctx context.Context, p Principal) (StoredRoutes, error) {
	return s.setStoredRoutes(ctx, p, nil)
}

func (s *Service) setStoredRoutes(ctx context.Context, p Principal, config []byte) (StoredRoutes, error) {
	if err := s.ManageRoutes(p); err != nil {
		return StoredRoutes{}, err
	}
	st, ok := s.Store.(RoutesStore)
	if !ok {
		return StoredRoutes{}, Errorf(EINTERNAL, "this store cannot keep a routing configuration")
	}
	return st.SetStoredRoutes(ctx, config)
}
