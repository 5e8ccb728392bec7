"""One source per container format (a folder, a zip, a tar, an Android backup, an iOS backup), mounted at device paths."""
