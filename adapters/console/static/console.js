// The console of pusher dev.
