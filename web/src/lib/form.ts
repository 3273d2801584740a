/** A text field of a submitted form ('' when absent); files are not read here. */
export function field(form: FormData, name: string): string {
  const v = form.get(name);
  return typeof v === 'string' ? v : '';
}
