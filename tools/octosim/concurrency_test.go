package octosim

import (
	"fmt"
	"sync"
	"testing"

	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/environments"
)

// TestConcurrentClients creates and lists from many goroutines at once:
// every create gets a distinct ID and nothing is lost (run with -race).
func TestConcurrentClients(t *testing.T) {
	f := newFixture(t, Options{})
	const workers, each = 8, 15
	var wg sync.WaitGroup
	ids := make(chan string, workers*each)
	errs := make(chan error, workers*each*2)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				e, err := environments.Add(f.c, environments.NewEnvironment(fmt.Sprintf("W%d-%d", w, i)))
				if err != nil {
					errs <- err
					continue
				}
				ids <- e.ID
				if _, err := environments.GetAll(f.c, "Spaces-1"); err != nil {
					errs <- err
				}
			}
		}(w)
	}
	wg.Wait()
	close(ids)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	seen := map[string]bool{}
	for id := range ids {
		if seen[id] {
			t.Errorf("ID %s handed out twice", id)
		}
		seen[id] = true
	}
	all, err := environments.GetAll(f.c, "Spaces-1")
	if err != nil || len(all) != workers*each || len(seen) != workers*each {
		t.Errorf("%d environments listed, %d created (%v)", len(all), len(seen), err)
	}
}
