# Regole massive su provenienza, base giuridica e finalità. Allineare a en/rules.ftl.

nav-rules = Regole massive
rules-title = Regole massive
rules-intro = Una regola imposta provenienza, base giuridica, finalità o un attributo su ogni contatto che corrisponde al suo filtro. Aprire la regola per vedere che cosa cambierebbe prima di applicarla; ogni esecuzione può essere annullata.
rules-empty = Nessuna regola salvata.
rules-caption = Regole salvate
rules-name = Nome
rules-what = Filtro → modifiche
rules-new = Nuova regola
rules-filter = Quali contatti
rules-filter-hint = Devono valere tutte le condizioni compilate. I contatti cancellati non vengono mai modificati.
rules-source = Provenienza
rules-source-any = Qualsiasi provenienza
rules-source-equals = Provenienza uguale a
rules-source-empty = Provenienza non indicata
rules-source-value = Testo della provenienza
rules-attr-key = Chiave dell'attributo
rules-attr-value = Valore dell'attributo
rules-legal-basis = Base giuridica
rules-any = Qualsiasi
rules-purpose = Ha la finalità
rules-consent-type = Tipologia di consenso
rules-consent-state = Stato del consenso
rules-state-granted = Dato e valido
rules-state-withdrawn = Revocato
rules-state-refused = Rifiutato
rules-state-expired = Scaduto
rules-state-none = Mai registrato
rules-given-after = Consenso dato dal
rules-given-before = Consenso dato prima del
rules-created-after = Contatto creato dal
rules-created-before = Contatto creato prima del
rules-changes = Che cosa impostare
rules-set-source = Nuova provenienza
rules-set-legal-basis = Nuova base giuridica
rules-keep = Lasciare invariato
rules-purposes = Finalità
rules-purposes-add = Aggiungere queste
rules-purposes-remove = Togliere queste
rules-purposes-replace = Sostituire con queste
rules-purposes-list = Finalità (separate da virgole)
rules-attributes = Attributi
rules-attribute = Attributo
rules-attribute-set = Impostare questa chiave a questo valore
rules-attribute-remove = Togliere questa chiave
rules-new-hint = Il salvataggio non modifica nulla: la pagina della regola mostra che cosa cambierebbe e la applica.
rules-save = Salva la regola
rules-runs = Esecuzioni
rules-runs-empty = Nessuna regola è stata ancora applicata.
rules-runs-caption = Esecuzioni, dalla più recente
rules-applied = Applicata il
rules-changed = Contatti modificati
rules-revert = Annulla
rules-revert-hint = L'annullamento riporta ogni contatto ai valori precedenti all'esecuzione. Un contatto modificato nel frattempo da altri resta com'è.
rules-reverted = Annullata il { $when }: { $restored ->
        [one] un contatto ripristinato
       *[other] { $restored_text } contatti ripristinati
    }, { $skipped ->
        [one] uno lasciato com'era
       *[other] { $skipped_text } lasciati com'erano
    }.
rules-back = ← Tutte le regole
rules-dry-run = Che cosa cambierebbe ora
rules-dry-count = { $count ->
    [0] Nessun contatto verrebbe modificato.
    [one] Verrebbe modificato 1 contatto.
   *[other] Verrebbero modificati { $count_text } contatti.
}
rules-sample-caption = I primi contatti che verrebbero modificati
rules-contact = Contatto
rules-now = Ora
rules-after = Dopo
rules-apply = Applica la regola
rules-confirm = Si conferma di aver controllato l'elenco e di voler applicare la regola.
rules-confirm-required = Spuntare la casella per confermare.
rules-delete = Elimina la regola
rules-error-name = Indicare un nome di al massimo 200 caratteri.
rules-error-name-taken = Esiste già una regola con questo nome.
rules-error-no-changes = Impostare almeno un campo.
rules-error-value = Valore non valido.
rules-error-key = Indicare una chiave composta solo da lettere, cifre, _ e -, e il suo valore.
rules-error-consent-type = Non esiste una tipologia di consenso con questo codice.
rules-error-period = La fine del periodo deve essere successiva all'inizio.
rules-error-purposes = Indicare da 1 a 50 finalità, separate da virgole.
done-rule-saved = Regola salvata. Controllare che cosa cambierebbe prima di applicarla.
done-rule-applied = Regola applicata.
done-rule-deleted = Regola eliminata.
done-run-reverted = Esecuzione annullata.

rules-words-source = provenienza «{ $value }»
rules-words-attribute = attributo { $key } uguale a «{ $value }»
rules-words-legal-basis = base giuridica: { $value }
rules-words-purpose = con la finalità «{ $value }»
rules-words-consent = consenso { $type }: { $state }
rules-words-given-after = consenso dato dal { $value }
rules-words-given-before = consenso dato prima del { $value }
rules-words-created-after = anagrafica creata dal { $value }
rules-words-created-before = anagrafica creata prima del { $value }
rules-words-every-contact = ogni anagrafica non cancellata
rules-words-and = e
rules-words-set-source = imposta la provenienza «{ $value }»
rules-words-set-legal-basis = imposta la base giuridica: { $value }
rules-words-purposes-add = aggiunge le finalità: { $value }
rules-words-purposes-remove = toglie le finalità: { $value }
rules-words-purposes-replace = sostituisce le finalità con: { $value }
rules-words-attribute-set = imposta l'attributo { $key } a «{ $value }»
rules-words-attribute-remove = toglie l'attributo { $key }
