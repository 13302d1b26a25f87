package db

// Queued is how many ops wait for a commit now (the engine's status and statistics).
func (w *Writer) Queued() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.queued
}
