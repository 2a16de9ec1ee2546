import { readFileSync, writeFileSync } from 'node:fs';
import { configTableMarkdown, providerSectionsMarkdown } from '../src/config/docs.js';

/** Regenerates the README's generated sections: the configuration table and the identity provider sections. */
const path = new URL('../README.md', import.meta.url);
const replaceBetween = (text: string, marker: string, content: string) =>
  text.replace(new RegExp(`<!-- ${marker}:start -->[\\s\\S]*?<!-- ${marker}:end -->`), `<!-- ${marker}:start -->\n${content}\n<!-- ${marker}:end -->`);

let readme = readFileSync(path, 'utf8');
readme = replaceBetween(readme, 'config-table', configTableMarkdown());
readme = replaceBetween(readme, 'providers', providerSectionsMarkdown());
writeFileSync(path, readme);
