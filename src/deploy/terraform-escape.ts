/**
 * Escapes text for a Terraform string: `${` and `%{` would otherwise start template
 * interpolations and directives (in file contents, shell commands, comments).
 */
export function escapeTerraformTemplate(text: string): string {
  return text.replace(/([$%])\{/g, (_all, sigil: string) => `${sigil}${sigil}{`);
}
