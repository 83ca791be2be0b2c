package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/oasdiff/yaml"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/api"
)

// config is what serve needs. Precedence: flags > environment > config file
// > defaults.
type config struct {
	DB            string `json:"db"`              // SQLite file path or postgres:// URL
	DBPoolSize    count  `json:"db_pool_size"`    // PostgreSQL: pooled connections per node (0: default)
	DBSessionURL  string `json:"db_session_url"`  // PostgreSQL: direct URL for LISTEN (default db)
	APIAddr       string `json:"api_addr"`        // listen address of the API
	AdminToken    string `json:"admin_token"`     // fixed admin token (else generated once)
	SecretKey     string `json:"secret_key"`      // 32-byte key, hex or base64
	SecretKeyFile string `json:"secret_key_file"` // key file (default next to the SQLite file)
	Timezone      string `json:"timezone"`        // IANA zone of the daily/monthly windows
	LogLevel      string `json:"log_level"`       // debug, info, warn, error
	StoreTimeout  string `json:"store_timeout"`   // deadline of an API request, its store calls included

	ProxyAddr     string `json:"proxy_addr"`      // gateway port sniffing HTTP and SOCKS5; "" disables
	HTTPProxyAddr string `json:"http_proxy_addr"` // optional HTTP-only proxy port
	SOCKSAddr     string `json:"socks_addr"`      // optional SOCKS5-only proxy port
	MetricsAddr   string `json:"metrics_addr"`    // Prometheus /metrics; "" serves it on the API port
	Routes        string `json:"routes"`          // route configuration file (default: direct egress)
	Node          string `json:"node"`            // unique name of this gateway process
	CredCacheSize count  `json:"cred_cache_size"` // sub-users a gateway holds in memory (0: default)
	PublicProxy   string `json:"public_proxy"`    // HOST[:HTTP_PORT[:SOCKS5_PORT]] customers dial; default from the listeners

	NetNutPrefix  string `json:"netnut_prefix"`  // where the dialects sit on the API port
	IPRoyalPrefix string `json:"iproyal_prefix"` //
	NinePrefix    string `json:"9proxy_prefix"`  //
	NetNutAddr    string `json:"netnut_addr"`    // optional dedicated ports serving a dialect at /
	IPRoyalAddr   string `json:"iproyal_addr"`   //
	NineAddr      string `json:"9proxy_addr"`    //

	Dashboard onOff `json:"dashboard"` // web dashboard under /dashboard on the API port; "off" disables
}

func defaultConfig() config {
	return config{
		DB: "./subgate.db", APIAddr: "127.0.0.1:8080", Timezone: "UTC", LogLevel: "info",
		StoreTimeout: api.DefaultStoreTimeout.String(),
		ProxyAddr:    ":3128",
		NetNutPrefix: "/netnut", IPRoyalPrefix: "/iproyal", NinePrefix: "/9proxy",
	}
}

// configFlags binds flags to a config; only flags actually given override.
type configFlags struct {
	fs   *flag.FlagSet
	file string
	c    config
}

func bindConfigFlags(fs *flag.FlagSet) *configFlags {
	cf := &configFlags{fs: fs}
	fs.StringVar(&cf.file, "config", "", "config file, JSON or YAML (env SUBGATE_CONFIG)")
	fs.StringVar(&cf.c.DB, "db", "", "database: SQLite file path or postgres:// URL (env SUBGATE_DB, default ./subgate.db)")
	fs.Var(&cf.c.DBPoolSize, "db-pool-size", "PostgreSQL: pooled connections per node (env SUBGATE_DB_POOL_SIZE, default pool_max_conns in the URL, else 6)")
	fs.StringVar(&cf.c.DBSessionURL, "db-session-url", "", "PostgreSQL: URL of a direct session for LISTEN and migrations when --db names a pooler in transaction mode (env SUBGATE_DB_SESSION_URL, default --db)")
	fs.StringVar(&cf.c.APIAddr, "api-addr", "", "API listen address (env SUBGATE_API_ADDR, default 127.0.0.1:8080)")
	fs.StringVar(&cf.c.SecretKeyFile, "secret-key-file", "", "file holding the password sealing key (env SUBGATE_SECRET_KEY_FILE, default next to the SQLite file)")
	fs.StringVar(&cf.c.Timezone, "timezone", "", "time zone of daily/monthly limit windows (env SUBGATE_TIMEZONE, default UTC)")
	fs.StringVar(&cf.c.LogLevel, "log-level", "", "debug, info, warn or error (env SUBGATE_LOG_LEVEL, default info)")
	fs.StringVar(&cf.c.StoreTimeout, "store-timeout", "", "deadline of an API, dialect or dashboard request, its database work included; past it the answer is 503 with Retry-After (env SUBGATE_STORE_TIMEOUT, default 5s)")
	fs.StringVar(&cf.c.ProxyAddr, "proxy-addr", "", `proxy port for HTTP, CONNECT and SOCKS5 (env SUBGATE_PROXY_ADDR, default :3128, "" disables)`)
	fs.StringVar(&cf.c.HTTPProxyAddr, "http-proxy-addr", "", "extra HTTP-only proxy port (env SUBGATE_HTTP_PROXY_ADDR)")
	fs.StringVar(&cf.c.SOCKSAddr, "socks-addr", "", "extra SOCKS5-only proxy port (env SUBGATE_SOCKS_ADDR)")
	fs.StringVar(&cf.c.MetricsAddr, "metrics-addr", "", "Prometheus /metrics port (env SUBGATE_METRICS_ADDR, default: on the API port)")
	fs.StringVar(&cf.c.Routes, "routes", "", "route configuration file, JSON (env SUBGATE_ROUTES, default: direct egress)")
	fs.StringVar((*string)(&cf.c.Dashboard), "dashboard", "", "web dashboard at /dashboard on the API port: on or off (env SUBGATE_DASHBOARD, default on)")
	fs.StringVar(&cf.c.PublicProxy, "public-proxy", "", "public address of the gateway, HOST[:HTTP_PORT[:SOCKS5_PORT]], used in proxy lists and URLs (env SUBGATE_PUBLIC_PROXY, default: from the proxy listen addresses and the host the API is reached at)")
	fs.StringVar(&cf.c.Node, "node", "", "unique name of this gateway process (env SUBGATE_NODE, default host name + random)")
	fs.Var(&cf.c.CredCacheSize, "cred-cache-size", "sub-users the gateway holds in memory; others are read from the database on login (env SUBGATE_CRED_CACHE_SIZE, default 100000)")
	return cf
}

// envNames maps config fields to environment variables.
var envNames = []struct {
	name string
	get  func(*config) *string
}{
	{"SUBGATE_DB", func(c *config) *string { return &c.DB }},
	{"SUBGATE_DB_SESSION_URL", func(c *config) *string { return &c.DBSessionURL }},
	{"SUBGATE_API_ADDR", func(c *config) *string { return &c.APIAddr }},
	{"SUBGATE_ADMIN_TOKEN", func(c *config) *string { return &c.AdminToken }},
	{"SUBGATE_SECRET_KEY", func(c *config) *string { return &c.SecretKey }},
	{"SUBGATE_SECRET_KEY_FILE", func(c *config) *string { return &c.SecretKeyFile }},
	{"SUBGATE_TIMEZONE", func(c *config) *string { return &c.Timezone }},
	{"SUBGATE_LOG_LEVEL", func(c *config) *string { return &c.LogLevel }},
	{"SUBGATE_STORE_TIMEOUT", func(c *config) *string { return &c.StoreTimeout }},
	{"SUBGATE_PROXY_ADDR", func(c *config) *string { return &c.ProxyAddr }},
	{"SUBGATE_HTTP_PROXY_ADDR", func(c *config) *string { return &c.HTTPProxyAddr }},
	{"SUBGATE_SOCKS_ADDR", func(c *config) *string { return &c.SOCKSAddr }},
	{"SUBGATE_METRICS_ADDR", func(c *config) *string { return &c.MetricsAddr }},
	{"SUBGATE_ROUTES", func(c *config) *string { return &c.Routes }},
	{"SUBGATE_NODE", func(c *config) *string { return &c.Node }},
	{"SUBGATE_PUBLIC_PROXY", func(c *config) *string { return &c.PublicProxy }},
	{"SUBGATE_NETNUT_PREFIX", func(c *config) *string { return &c.NetNutPrefix }},
	{"SUBGATE_IPROYAL_PREFIX", func(c *config) *string { return &c.IPRoyalPrefix }},
	{"SUBGATE_9PROXY_PREFIX", func(c *config) *string { return &c.NinePrefix }},
	{"SUBGATE_NETNUT_ADDR", func(c *config) *string { return &c.NetNutAddr }},
	{"SUBGATE_IPROYAL_ADDR", func(c *config) *string { return &c.IPRoyalAddr }},
	{"SUBGATE_9PROXY_ADDR", func(c *config) *string { return &c.NineAddr }},
	{"SUBGATE_DASHBOARD", func(c *config) *string { return (*string)(&c.Dashboard) }},
}

// emptyAllowed names the variables whose empty value means "off" rather
// than "unset".
var emptyAllowed = map[string]bool{"SUBGATE_PROXY_ADDR": true}

// loadConfig layers defaults, the config file, the environment and flags.
func (a *app) loadConfig(cf *configFlags) (config, error) {
	c := defaultConfig()
	file := firstNonEmpty(cf.file, a.getenv("SUBGATE_CONFIG"))
	if file != "" {
		if err := readConfigFile(file, &c); err != nil {
			return c, err
		}
	}
	for _, e := range envNames {
		if v, ok := a.lookup(e.name); ok && (v != "" || emptyAllowed[e.name]) {
			*e.get(&c) = v
		}
	}
	for _, n := range []struct {
		env, flag string
		dst       *count
		src       count
	}{
		{"SUBGATE_DB_POOL_SIZE", "db-pool-size", &c.DBPoolSize, cf.c.DBPoolSize},
		{"SUBGATE_CRED_CACHE_SIZE", "cred-cache-size", &c.CredCacheSize, cf.c.CredCacheSize},
	} {
		if v := a.getenv(n.env); v != "" {
			if err := n.dst.Set(v); err != nil {
				return c, fmt.Errorf("%s: %w", n.env, err)
			}
		}
		if isSet(cf.fs, n.flag) {
			*n.dst = n.src
		}
	}
	for _, e := range []struct {
		flag string
		dst  *string
		src  string
	}{
		{"db", &c.DB, cf.c.DB}, {"db-session-url", &c.DBSessionURL, cf.c.DBSessionURL},
		{"api-addr", &c.APIAddr, cf.c.APIAddr},
		{"secret-key-file", &c.SecretKeyFile, cf.c.SecretKeyFile},
		{"timezone", &c.Timezone, cf.c.Timezone}, {"log-level", &c.LogLevel, cf.c.LogLevel},
		{"store-timeout", &c.StoreTimeout, cf.c.StoreTimeout},
		{"proxy-addr", &c.ProxyAddr, cf.c.ProxyAddr}, {"http-proxy-addr", &c.HTTPProxyAddr, cf.c.HTTPProxyAddr},
		{"socks-addr", &c.SOCKSAddr, cf.c.SOCKSAddr}, {"metrics-addr", &c.MetricsAddr, cf.c.MetricsAddr},
		{"routes", &c.Routes, cf.c.Routes}, {"node", &c.Node, cf.c.Node},
		{"public-proxy", &c.PublicProxy, cf.c.PublicProxy},
		{"dashboard", (*string)(&c.Dashboard), string(cf.c.Dashboard)},
	} {
		if isSet(cf.fs, e.flag) {
			*e.dst = e.src
		}
	}
	return c, nil
}

// readConfigFile overlays the fields a JSON or YAML file sets; unknown keys
// are an error so typos do not pass silently.
func readConfigFile(path string, c *config) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".json" {
		if b, err = yaml.YAMLToJSON(b); err != nil {
			return fmt.Errorf("config file %s: %w", path, err)
		}
	}
	if len(bytes.TrimSpace(b)) == 0 || string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

// count is a non-negative number setting; 0 means its default. Files give
// it as a number, flags and the environment as digits.
type count int

func (n *count) Set(s string) error {
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || v < 0 {
		return fmt.Errorf("%q is not a whole number of 0 or more", s)
	}
	*n = count(v)
	return nil
}

func (n *count) String() string { return strconv.Itoa(int(*n)) }

func (n *count) UnmarshalJSON(b []byte) error { return n.Set(strings.Trim(string(b), `"`)) }

// storeTimeout is the parsed store_timeout setting.
func (c config) storeTimeout() (time.Duration, error) {
	d, err := time.ParseDuration(c.StoreTimeout)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("store timeout %q: want a positive duration such as 5s", c.StoreTimeout)
	}
	return d, nil
}

// publicGateway is the gateway's public address: the public_proxy setting,
// with what it leaves out taken from the proxy listen addresses.
func (c config) publicGateway() (subgate.GatewayAddress, error) {
	def := subgate.GatewayAddressFromListeners(c.ProxyAddr, c.HTTPProxyAddr, c.SOCKSAddr)
	a, err := subgate.ParseGatewayAddress("public_proxy", c.PublicProxy, def)
	if err != nil {
		return a, errors.New(err.(*subgate.Error).Message)
	}
	return a, nil
}

// isPostgres reports whether the database setting names PostgreSQL.
func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// keyFileFor returns where the sealing key lives: the configured file, or
// for SQLite a .key file next to the database. PostgreSQL nodes share one
// database and so must share the key, which has to be configured.
func keyFileFor(c config) (string, error) {
	if c.SecretKeyFile != "" {
		return c.SecretKeyFile, nil
	}
	if isPostgres(c.DB) {
		if c.SecretKey == "" {
			return "", fmt.Errorf("with PostgreSQL set SUBGATE_SECRET_KEY or SUBGATE_SECRET_KEY_FILE (every node needs the same key)")
		}
		return "", nil
	}
	return strings.TrimSuffix(c.DB, filepath.Ext(c.DB)) + ".key", nil
}
