package main

import (
	"context"
	"encoding/base64"
	"errors"

	"github.com/subgate/subgate"
)

const (
	settingKeyCheck = "secret_key_check"
	keyCheckText    = "subgate secret key check"
)

// verifyKey makes sure the sealing key is the one the database was used
// with. A lost key file would otherwise be replaced by a fresh key silently,
// and every stored proxy password would become unreadable.
func verifyKey(ctx context.Context, store subgate.Store, c subgate.Cipher) error {
	sealed, err := c.Seal([]byte(keyCheckText))
	if err != nil {
		return err
	}
	stored, err := store.SetSettingIfAbsent(ctx, settingKeyCheck, base64.StdEncoding.EncodeToString(sealed))
	if err != nil || stored {
		return err
	}
	v, err := store.Setting(ctx, settingKeyCheck)
	if err != nil {
		return err
	}
	raw, err := base64.StdEncoding.DecodeString(v)
	if err == nil {
		var plain []byte
		plain, err = c.Open(raw)
		if err == nil && string(plain) != keyCheckText {
			err = errors.New("check value differs")
		}
	}
	if err != nil {
		return errors.New("the secret key does not match this database (proxy passwords sealed with another key could not be read): configure the original key with SUBGATE_SECRET_KEY or its key file")
	}
	return nil
}
