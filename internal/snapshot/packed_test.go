package snapshot

import (
	"reflect"
	"testing"

	"github.com/octobundle/octobundle/internal/jsonv"
	"github.com/octobundle/octobundle/schema"
)

// TestEntityHoldsNoDecodedDocument checks the shape of Entity: besides its
// kind and owner (shared, not its own) nothing it holds can reach a decoded
// document (an interface, a map), so a snapshot's size is bounded by its
// packed documents and index whatever the documents hold.
func TestEntityHoldsNoDecodedDocument(t *testing.T) {
	shared := map[reflect.Type]bool{
		reflect.TypeOf((*schema.Kind)(nil)): true, // the registry's
		reflect.TypeOf((*Entity)(nil)):      true, // the owner, checked itself
		reflect.TypeOf(jsonv.Doc{}):         true, // packed bytes
	}
	var check func(path string, ty reflect.Type, seen map[reflect.Type]bool)
	check = func(path string, ty reflect.Type, seen map[reflect.Type]bool) {
		if shared[ty] || seen[ty] {
			return
		}
		seen[ty] = true
		switch ty.Kind() {
		case reflect.Interface, reflect.Map, reflect.Func, reflect.Chan:
			t.Errorf("%s is a %s: it can hold a decoded document", path, ty)
		case reflect.Pointer, reflect.Slice, reflect.Array:
			check(path+"[]", ty.Elem(), seen)
		case reflect.Struct:
			for i := range ty.NumField() {
				f := ty.Field(i)
				check(path+"."+f.Name, f.Type, seen)
			}
		}
	}
	check("Entity", reflect.TypeOf(Entity{}), map[reflect.Type]bool{})
}
