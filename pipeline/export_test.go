package pipeline

// RunPostsInline makes p post on the router's goroutines instead of long-lived workers,
// for BenchmarkPostWorkers. Call it before Run.
func RunPostsInline(p *Pipeline) { p.posters.inline = true }
