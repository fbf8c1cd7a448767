package pipeline

// SplitTasks returns into how many tasks c splits a broadcast over n connections, 0 for
// none.
func SplitTasks(c SplitConfig, n int) int {
	if tasks, ok := c.tasks(n); ok {
		return tasks
	}
	return 0
}

// Defaulted returns c with the defaults New gives the fields left zero.
func Defaulted(c Config) Config {
	c.setDefaults()
	return c
}
