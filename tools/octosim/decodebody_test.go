package octosim

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestDecodeBody checks that a request body decodes as json.Unmarshal
// decodes it into an any, with its error, both where jsonv.DecodeWith
// decodes it and where decodeBody asks json.Unmarshal (nesting deeper
// than jsonv allows, numbers out of range, invalid JSON).
func TestDecodeBody(t *testing.T) {
	deep := strings.Repeat(`{"a":[`, 600) + "1" + strings.Repeat("]}", 600)
	for _, in := range []string{
		`{"Name":"x","N":1.5,"A":[true,null,"<&>"]}`, `{"a":1,"a":2}`, "\"\xff\"", deep,
		`1e400`, `{"a":}`, ``, strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	} {
		got, err := decodeBody([]byte(in))
		var want any
		werr := json.Unmarshal([]byte(in), &want)
		if (err == nil) != (werr == nil) || err != nil && err.Error() != werr.Error() || !reflect.DeepEqual(got, want) {
			t.Errorf("decodeBody(%.40q) = %v (%v), json.Unmarshal %v (%v)", in, got, err, want, werr)
		}
	}
}
