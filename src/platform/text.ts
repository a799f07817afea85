// Text folding shared by every resource that sorts or matches names.

/** Lower case, accents and other marks removed, whitespace collapsed: the form names are compared and sorted in. */
export function fold(text: string): string {
  return text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().replace(/\s+/g, ' ').trim();
}
