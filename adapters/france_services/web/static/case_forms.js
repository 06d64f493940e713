// The fields of each life event's form, as cases.fbs names them
// (docs/CONSOLE.md: the event's JSON form). A field is {path (below
// /body), label, hint, type, options, optional}; its JSON pointer is
// /body/<path>. Types: text, date, select, checkbox, number (whole),
// euros (sent in cents), decimal, lines (one per line: an array), names
// (separated by commas: an array), textarea. The server checks every
// field with the adapters' own rules: these are only the form.

const sex = [['Female', 'Féminin'], ['Male', 'Masculin'],
  ['Unspecified', 'Non précisé']];

// A person: NIR and identity pivot below `at`.
function citizen(at, legend, optional = false) {
  return {legend, fields: [
    {path: `${at}/nir`, label: 'Numéro de sécurité sociale (NIR)',
      hint: '15 chiffres, clé comprise, sans espace', optional: true,
      inputmode: 'numeric', autocomplete: 'off'},
    ...identity(`${at}/identity`, optional)]};
}

function identity(at, optional = false) {
  return [
    {path: `${at}/birth_name`, label: 'Nom de naissance', optional},
    {path: `${at}/usage_name`, label: "Nom d'usage", optional: true},
    {path: `${at}/given_names`, label: 'Prénoms', type: 'names',
      hint: "Dans l'ordre de l'état civil, séparés par des virgules", optional},
    {path: `${at}/birth_date`, label: 'Date de naissance', type: 'date',
      optional},
    {path: `${at}/sex`, label: 'Sexe', type: 'select', options: sex, optional},
    {path: `${at}/birthplace_cog`, label: 'Commune de naissance (code COG)',
      hint: 'Code officiel géographique de l’Insee, 5 caractères (75115 pour Paris 15e)',
      optional: true},
    {path: `${at}/birth_country_cog`, label: 'Pays de naissance (code COG)',
      hint: '99100 pour la France', optional: true},
  ];
}

function address(at, legend, optional = false) {
  return {legend, fields: [
    {path: `${at}/lines`, label: 'Adresse', type: 'lines',
      hint: 'Numéro, voie, complément : une ligne par ligne de l’adresse', optional},
    {path: `${at}/postcode`, label: 'Code postal', inputmode: 'numeric',
      optional},
    {path: `${at}/city`, label: 'Commune', optional},
    {path: `${at}/city_cog`, label: 'Commune (code COG)', optional: true},
    {path: `${at}/country_cog`, label: 'Pays (code COG)',
      hint: '99100 pour la France', optional: true},
  ]};
}

const contact = {legend: 'Coordonnées du citoyen', fields: [
  {path: 'contact/email', label: 'Adresse électronique', type: 'email',
    optional: true},
  {path: 'contact/phone', label: 'Téléphone', hint: 'Par exemple +33612345678',
    optional: true, inputmode: 'tel'},
]};

// The agencies' own numbers for the citizen, when the citizen has them.
const references = {legend: 'Numéros du citoyen dans les organismes (facultatif)',
  references: true, fields: [
    {agency: 'caf', label: 'Numéro d’allocataire CAF', hint: '7 chiffres'},
    {agency: 'cpam', label: 'Numéro d’assuré (Assurance Maladie)',
      hint: 'Le NIR, 15 chiffres'},
    {agency: 'dgfip', label: 'Numéro fiscal (Finances publiques)',
      hint: '13 chiffres'},
    {agency: 'france-travail', label: 'Identifiant France Travail',
      hint: '7 chiffres et une lettre ou un chiffre'},
  ].map((f) => ({...f, path: `references/${f.agency}`, optional: true}))};

export const forms = {
  AddressChange: [
    citizen('citizen', 'Le citoyen'),
    {legend: 'Le déménagement', fields: [
      {path: 'effective_date', label: 'Date du déménagement', type: 'date'}]},
    address('new_address', 'Nouvelle adresse'),
    address('old_address', 'Ancienne adresse (facultatif)', true),
    contact, references],
  Birth: [
    {legend: 'La naissance', fields: [
      {path: 'stage', label: 'Étape', type: 'select',
        options: [['Birth', 'Naissance'], ['Pregnancy', 'Grossesse']]},
      {path: 'expected_date', label: 'Date prévue de l’accouchement',
        type: 'date', optional: true,
        hint: 'Pour une grossesse seulement'}]},
    {legend: 'L’enfant (pour une naissance)',
      fields: identity('child', true)},
    citizen('parents/0', 'Premier parent'),
    citizen('parents/1', 'Second parent (facultatif)', true),
    references],
  HouseholdChange: [
    {legend: 'Le changement', fields: [
      {path: 'event', label: 'Événement', type: 'select', options: [
        ['Marriage', 'Mariage'], ['Pacs', 'Pacs'], ['Separation', 'Séparation'],
        ['Divorce', 'Divorce'], ['PacsDissolution', 'Dissolution du Pacs']]},
      {path: 'event_date', label: 'Date de l’événement', type: 'date'}]},
    citizen('declarant', 'Le déclarant'),
    {legend: 'Numéro fiscal du déclarant', fields: [
      {path: 'declarant_tax_number', label: 'Numéro fiscal', hint: '13 chiffres',
        optional: true}]},
    citizen('partner', 'Le conjoint ou partenaire (facultatif)', true),
    {legend: 'Numéro fiscal du conjoint', fields: [
      {path: 'partner_tax_number', label: 'Numéro fiscal', hint: '13 chiffres',
        optional: true}]},
    references],
  RsaApplication: [
    citizen('applicant', 'Le demandeur'),
    {legend: 'La demande', fields: [
      {path: 'application_date', label: 'Date de la demande', type: 'date'},
      {path: 'monthly_resources_cents', label: 'Ressources mensuelles du foyer',
        type: 'euros', hint: 'En euros, par exemple 640,50', optional: true}]},
    address('address', 'Adresse', true),
    contact, references],
  JobSeekerStatus: [
    citizen('citizen', 'Le demandeur d’emploi'),
    {legend: 'L’inscription', fields: [
      {path: 'job_seeker_id', label: 'Identifiant France Travail',
        optional: true},
      {path: 'registration_start', label: 'Date d’inscription', type: 'date'},
      {path: 'registration_end', label: 'Date de fin d’inscription',
        type: 'date', optional: true},
      {path: 'category', label: 'Catégorie', type: 'select', options: [
        ['1', 'Catégorie 1'], ['2', 'Catégorie 2'], ['3', 'Catégorie 3'],
        ['4', 'Catégorie 4'], ['5', 'Catégorie 5']], number: true}]},
    references],
  ResourcesUpdate: [
    citizen('citizen', 'Le citoyen'),
    {legend: 'Les ressources', fields: [
      {path: 'tax_number', label: 'Numéro fiscal', hint: '13 chiffres'},
      {path: 'income_year', label: 'Année des revenus', type: 'number'},
      {path: 'reference_tax_income_eur', label: 'Revenu fiscal de référence',
        type: 'number', hint: 'En euros'},
      {path: 'tax_parts', label: 'Nombre de parts', type: 'decimal',
        hint: 'Par exemple 2,5'},
      {path: 'family_situation', label: 'Situation de famille', type: 'select',
        options: [['Married', 'Marié(e)'], ['Pacsed', 'Pacsé(e)'],
          ['Single', 'Célibataire'], ['Divorced', 'Divorcé(e)'],
          ['Widowed', 'Veuf ou veuve']]}]},
    address('tax_address', 'Adresse fiscale (facultatif)', true),
    references],
  DeathNotification: [
    citizen('deceased', 'La personne décédée'),
    {legend: 'Le décès', fields: [
      {path: 'death_date', label: 'Date du décès', type: 'date'},
      {path: 'death_place_cog', label: 'Commune du décès (code COG)',
        optional: true},
      {path: 'death_country_cog', label: 'Pays du décès (code COG)',
        hint: '99100 pour la France', optional: true},
      {path: 'death_record_number', label: 'Numéro de l’acte de décès'}]},
    references],
  AssistedCase: [
    {legend: 'La démarche accompagnée', fields: [
      {path: 'category', label: 'Domaine', hint: 'Par exemple : logement, santé, emploi'},
      {path: 'subject', label: 'Objet'},
      {path: 'description', label: 'Description', type: 'textarea',
        optional: true}]},
    citizen('citizen', 'Le citoyen'),
    contact, references],
};

// The objections a citizen may make, per life event (step 3): each a
// checkbox field of the event.
export const objections = {
  RsaApplication: [{path: 'css_opposition', type: 'checkbox',
    label: 'Le citoyen s’oppose à l’examen de son droit à la complémentaire santé solidaire'}],
};

// The agencies an agent may choose by hand.
export const agencies = [
  ['caf', 'Caisse d’allocations familiales (CAF)'],
  ['cpam', 'Assurance Maladie (CPAM)'],
  ['dgfip', 'Finances publiques (DGFiP)'],
  ['france-travail', 'France Travail'],
];
