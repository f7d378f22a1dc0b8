/**
 * Strings built by concatenation are kept by V8 as trees of pieces (about 32 bytes a piece),
 * several times the size of the text. Anything the generator holds for a while (a day's
 * messages, customers) is flattened once, when it is made; reading a character does that.
 */
export function flat(text: string): string {
  text.charCodeAt(0);
  return text;
}
