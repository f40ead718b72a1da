/** systemd unit files are embedded in the executable as text (esbuild's text loader). */
declare module '*.service' {
  const text: string;
  export default text;
}
declare module '*.timer' {
  const text: string;
  export default text;
}
