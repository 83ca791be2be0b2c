package iproyal_test

import (
	"strings"
	"time"
)

func nowUTC() time.Time { return time.Now().UTC() }

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
