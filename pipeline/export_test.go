package pipeline

// RunPostsInline makes p post on the router's goroutines instead of long-lived workers,
// for BenchmarkPostWorkers. Call it before Run.
func RunPostsInline(p *Pipeline) { p.posters.inline = true }

// SplitTasks returns into how many tasks c splits a broadcast over n connections, 0 for
// none.
func SplitTasks(c SplitConfig, n int) int {
	if tasks, ok := c.tasks(n); ok {
		return tasks
	}
	return 0
}
