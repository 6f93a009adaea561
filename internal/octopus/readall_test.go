package octopus

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadAll(t *testing.T) {
	body := strings.Repeat("0123456789", 1000)
	broken := errors.New("connection reset")
	cases := []struct {
		name    string
		r       io.Reader
		size    int64
		want    string
		wantErr error
	}{
		{"announced length", strings.NewReader(body), int64(len(body)), body, nil},
		{"unknown length", strings.NewReader(body), -1, body, nil},
		{"longer than announced", strings.NewReader(body), 10, body, nil},
		{"shorter than announced", strings.NewReader(body[:5]), int64(len(body)), body[:5], nil},
		{"empty", strings.NewReader(""), 0, "", nil},
		{"one byte at a time", iotest.OneByteReader(strings.NewReader(body[:300])), 300, body[:300], nil},
		{"a read error keeps what came", io.MultiReader(strings.NewReader(body[:7]), iotest.ErrReader(broken)), 100, body[:7], broken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readAll(tc.r, tc.size)
			if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if !bytes.Equal(got, []byte(tc.want)) {
				t.Fatalf("read %d bytes %.20q…, want %d", len(got), got, len(tc.want))
			}
		})
	}
}
