package apply

import (
	"context"

	"golang.org/x/sync/errgroup"
)

// applyParallelism is how many independent applies of one reconcile are in flight at once.
const applyParallelism = 8

// AtOnce runs n independent applies at the same time, at most applyParallelism in flight, and
// returns the first error once all have ended.
func AtOnce(ctx context.Context, n int, do func(ctx context.Context, i int) error) error {
	var g errgroup.Group
	g.SetLimit(applyParallelism)
	for i := range n {
		g.Go(func() error { return do(ctx, i) })
	}
	return g.Wait()
}
