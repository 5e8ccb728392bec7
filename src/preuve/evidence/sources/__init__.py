"""One source per container format (a folder, a zip, a tar, an Android backup), mounted at device paths."""
