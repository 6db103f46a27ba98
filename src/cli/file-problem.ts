// What went wrong with a file or folder a user named, in words (the Node host's errno codes), so every
// command says it the same way: "--resume x: no such file", "--out y: cannot create /proc/y (not a place
// folders can be made)".
export function fileProblem(e: unknown, doing: 'read' | 'write' | 'create'): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return doing === 'read' ? 'no such file' : doing === 'write' ? 'no such folder, or not a place files can be made' : 'not a place folders can be made';
  if (code === 'EISDIR') return 'a folder, not a file';
  if (code === 'EACCES' || code === 'EPERM') return 'no permission';
  if (code === 'EROFS') return 'a read-only file system';
  return (e as Error).message;
}
