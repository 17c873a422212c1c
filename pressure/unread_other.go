//go:build !linux

package pressure

func unreadAnswers(uint16, bool, bool) (int, bool) { return 0, false }
