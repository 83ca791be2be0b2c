package main

import (
	"context"
	"flag"
	"io"
	"net/url"
)

// apiCommandsFooter ends the usage of the command groups talking to the API.
const apiCommandsFooter = `Amounts are bytes or sizes such as 10GB or 500MB (1 GB = 10^9 bytes).
Every command takes --api-url, --token and --output table|json.
`

// command is the set-up every API command shares: a flag set holding the
// client flags, the check of its positional arguments and the client.
type command struct {
	fs  *flag.FlagSet
	cf  *clientFlags
	app *app
}

// newCommand starts an API command; the caller adds its own flags to fs.
func (a *app) newCommand(name, usage string) *command {
	fs := newFlagSet(name, usage, a.stderr)
	return &command{fs: fs, cf: a.addClientFlags(fs), app: a}
}

// parse reads the command line and checks it holds exactly n positional
// arguments, described by names in the error.
func (cmd *command) parse(args []string, n int, names string) ([]string, error) {
	pos, err := parseInterspersed(cmd.fs, args)
	if err != nil {
		return nil, err
	}
	if err := wantArgs(cmd.fs, pos, n, names); err != nil {
		return nil, err
	}
	return pos, nil
}

// parseClient is parse followed by client, for commands with nothing to
// check between the two.
func (cmd *command) parseClient(args []string, n int, names string) ([]string, *client, error) {
	pos, err := cmd.parse(args, n, names)
	if err != nil {
		return nil, nil, err
	}
	c, err := cmd.client()
	if err != nil {
		return nil, nil, err
	}
	return pos, c, nil
}

// client builds the API client from the client flags.
func (cmd *command) client() (*client, error) {
	return cmd.app.newClient(cmd.cf)
}

// subuserClient builds the client and turns ref (id, hash or username)
// into the sub-user's API path.
func (cmd *command) subuserClient(ctx context.Context, ref string) (*client, string, error) {
	c, err := cmd.client()
	if err != nil {
		return nil, "", err
	}
	if ref, err = c.resolveRef(ctx, ref); err != nil {
		return nil, "", err
	}
	return c, subuserPath(ref), nil
}

// transferCommand is a command moving an amount of traffic of one product
// to or from a target (credit, debit, give, take).
type transferCommand struct {
	*command
	product, key *string
}

func (a *app) newTransferCommand(name, usage string) *transferCommand {
	cmd := a.newCommand(name, usage)
	return &transferCommand{
		command: cmd,
		product: cmd.fs.String("product", "res", "product: res, dc, stc, mob or * (any)"),
		key:     cmd.fs.String("idempotency-key", "", "makes a retried command apply once"),
	}
}

// parse reads the target and the amount, described by names in the error,
// and returns the target and the request body.
func (cmd *transferCommand) parse(args []string, names string) (string, map[string]any, error) {
	pos, err := cmd.command.parse(args, 2, names)
	if err != nil {
		return "", nil, err
	}
	n, err := parseBytes(pos[1])
	if err != nil {
		return "", nil, err
	}
	return pos[0], map[string]any{"product": *cmd.product, "bytes": n}, nil
}

// request sends a request, decodes its answer into a T and prints it: as
// the API sent it with --output json, else with table.
func request[T any](ctx context.Context, c *client, method, path string, query url.Values, body any, table func(io.Writer, T) error) error {
	var v T
	raw, err := c.do(ctx, method, path, query, body, &v)
	if err != nil {
		return err
	}
	if c.output == "json" {
		return c.printJSON(raw)
	}
	return table(c.out, v)
}
